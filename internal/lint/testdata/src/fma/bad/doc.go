// Package bad holds unguarded multiply-adds that the fma rule must report.
package bad
