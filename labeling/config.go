package labeling

import (
	"errors"

	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Tier is one step of the payout schedule: a worker whose approval rate (accepted labels /
// submitted labels, in basis points) is at least MinApprovalBps is paid PayBps of the reward
// of each accepted label.
type Tier struct {
	MinApprovalBps, PayBps uint32
}

// Config holds the machine's parameters: what Synesis One does not publish (fees, guild cost,
// claim window, slash formula) and the statistics. The zero value, with Self and Admin set, is
// usable: EnsureDefaults fills every other zero field with its documented default.
type Config struct {
	// Self is the machine's own ledger address: the arbiter of every escrow it opens, the
	// account that burns. It must be non-zero.
	Self stake.Address
	// Admin alone mints word NFTs. It must be non-zero.
	Admin stake.Address
	// FeeTreasury is the stake treasury that receives platform fees and guild costs.
	// Default: "labeling".
	FeeTreasury string
	// FeeBps is the platform fee on a campaign's budget, paid by the client at creation on
	// top of the budget, rounded up. Default: 250 (2.5%). At most 10000.
	FeeBps uint32
	// GuildCost is what creating a guild costs (to FeeTreasury). Default: 1000 units.
	GuildCost uint256.Int
	// ClaimWindow is the chain time in seconds after a campaign's end during which rewards
	// may be claimed; what is unclaimed after it is burned. Default: 2,592,000 (30 days).
	ClaimWindow uint64
	// MaxWords caps the word NFTs ever minted. Default: 10,000 (Synesis One's Kanon).
	MaxWords uint32
	// SpammerSlashBps is the part of a worker's bond slashed (burned) when Wald's test flags
	// it a spammer. Default: 10000 (all of it).
	SpammerSlashBps uint32
	// LowQualitySlashBps is the part of a worker's bond slashed (burned) when its approval
	// rate is below MinApprovalBps. Default: 2000.
	LowQualitySlashBps uint32
	// MinApprovalBps is the approval rate below which a worker is paid nothing and slashed
	// LowQualitySlashBps. Default: 5000.
	MinApprovalBps uint32
	// Tiers is the payout schedule, by MinApprovalBps descending; a worker is paid by the
	// first tier it reaches. Default: {9000, 10000}, {7500, 8000}, {5000, 5000}.
	Tiers []Tier
	// MaxItems, MaxParticipants and MaxLabelsPerItem bound a campaign (and the work of
	// finalizing it). Defaults: 100,000, 1,024, 32.
	MaxItems, MaxParticipants, MaxLabelsPerItem uint32
	// SPRT is the spammer test on gold items; zero fields take aggregate's defaults.
	SPRT aggregate.SPRT
	// Aggregation tunes Dawid-Skene; zero fields take aggregate's defaults.
	Aggregation aggregate.Config
}

// EnsureDefaults returns c with zero fields replaced by their defaults.
func (c Config) EnsureDefaults() Config {
	if c.FeeTreasury == "" {
		c.FeeTreasury = "labeling"
	}
	if c.FeeBps == 0 {
		c.FeeBps = 250
	}
	if c.GuildCost.IsZero() {
		c.GuildCost.SetUint64(1000)
	}
	if c.ClaimWindow == 0 {
		c.ClaimWindow = 30 * 24 * 3600
	}
	if c.MaxWords == 0 {
		c.MaxWords = 10_000
	}
	if c.SpammerSlashBps == 0 {
		c.SpammerSlashBps = 10000
	}
	if c.LowQualitySlashBps == 0 {
		c.LowQualitySlashBps = 2000
	}
	if c.MinApprovalBps == 0 {
		c.MinApprovalBps = 5000
	}
	if len(c.Tiers) == 0 {
		c.Tiers = []Tier{{9000, 10000}, {7500, 8000}, {5000, 5000}}
	}
	if c.MaxItems == 0 {
		c.MaxItems = 100_000
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 1024
	}
	if c.MaxLabelsPerItem == 0 {
		c.MaxLabelsPerItem = 32
	}
	c.SPRT = c.SPRT.EnsureDefaults()
	c.Aggregation = c.Aggregation.EnsureDefaults()
	return c
}

// Validate reports every problem with c at once; each wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, errf(ErrInvalidConfig, format, args...)) }
	if c.Self == (stake.Address{}) {
		bad("Self is the zero address")
	}
	if c.Admin == (stake.Address{}) {
		bad("Admin is the zero address")
	}
	if !validTreasury(c.FeeTreasury) {
		bad("fee treasury %q not 1-32 bytes of [a-z0-9_]", c.FeeTreasury)
	}
	for _, f := range []struct {
		name string
		v    uint32
	}{{"FeeBps", c.FeeBps}, {"SpammerSlashBps", c.SpammerSlashBps},
		{"LowQualitySlashBps", c.LowQualitySlashBps}, {"MinApprovalBps", c.MinApprovalBps}} {
		if f.v > 10000 {
			bad("%s %d exceeds 10000", f.name, f.v)
		}
	}
	for i, t := range c.Tiers {
		if t.MinApprovalBps > 10000 || t.PayBps > 10000 {
			bad("tier %d: %d/%d bps exceed 10000", i, t.MinApprovalBps, t.PayBps)
		}
		if i > 0 && t.MinApprovalBps >= c.Tiers[i-1].MinApprovalBps {
			bad("tier %d: approval %d not below the previous tier's", i, t.MinApprovalBps)
		}
	}
	if c.MaxLabelsPerItem > 255 {
		bad("MaxLabelsPerItem %d exceeds 255", c.MaxLabelsPerItem)
	}
	if c.MaxItems > 1<<24 || c.MaxParticipants > 1<<16 {
		bad("MaxItems %d or MaxParticipants %d too large", c.MaxItems, c.MaxParticipants)
	}
	if err := c.SPRT.Validate(); err != nil {
		bad("SPRT: %v", err)
	}
	if err := c.Aggregation.Validate(); err != nil {
		bad("aggregation: %v", err)
	}
	return errors.Join(errs...)
}

func validTreasury(name string) bool {
	if len(name) == 0 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}
