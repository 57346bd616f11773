module github.com/deai-go/deai

go 1.26
