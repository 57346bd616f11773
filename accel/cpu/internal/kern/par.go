package kern

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Par says how many goroutines a kernel may use. The zero value runs
// everything inline on the calling goroutine.
//
// A kernel's result never depends on Workers: parallel kernels split their
// outputs into disjoint ranges, and every output is computed by exactly one
// call of the range function, in the same order as a sequential run.
//
// The goroutines other than the caller's come from a pool shared by the
// whole process, started on first use and kept for its lifetime (at most
// maxPoolWorkers, one fewer than the largest Workers ever asked for), so
// that a training step starts no goroutine and allocates nothing.
type Par struct {
	// Workers is the maximum number of goroutines, the caller's included.
	// Values ≤ 1 mean run inline.
	Workers int
}

// Ranger is a unit of parallel work: Range processes the indices [lo, hi).
// Kernels pass pointers to reusable task values, so that handing work to
// Par.Run allocates nothing.
type Ranger interface {
	Range(lo, hi int)
}

// Func adapts a function to Ranger.
type Func func(lo, hi int)

// Range calls f(lo, hi).
func (f Func) Range(lo, hi int) { f(lo, hi) }

// For is Run with a function: it calls fn on contiguous, disjoint ranges
// [lo, hi) that together cover [0, n) exactly once. A closure that
// captures variables is allocated on every call; allocation-free callers
// use Run with a reusable Ranger.
func (p Par) For(n, grain int, fn func(lo, hi int)) {
	p.Run(n, grain, Func(fn))
}

// Run calls r.Range on contiguous, disjoint ranges [lo, hi) that together
// cover [0, n) exactly once, using at most p.Workers goroutines (the
// calling one included) and ranges of at least grain indices (the last one
// may be shorter only when n < grain). It returns when every call has
// returned. With p.Workers ≤ 1, or when n is smaller than 2*grain, it calls
// r.Range(0, n) inline. n ≤ 0 calls nothing; grain < 1 counts as 1.
//
// [0, n) is cut into up to overSplit*p.Workers equal ranges, which the
// caller and the pool workers that are idle take one at a time until none
// is left: on a machine shared with other processes, a worker that gets no
// processor delays the call by one small range, not by 1/Workers of it.
// The ranges depend only on n, grain and p.Workers, never on which
// goroutine runs them or when. Run does not allocate in steady state and
// may be called from inside a Range (the caller never waits for a range
// nobody has started).
//
// r must be safe to run concurrently on disjoint ranges and must not
// panic: a panic in a goroutine other than the caller's ends the process.
func (p Par) Run(n, grain int, r Ranger) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	if p.Workers <= 1 {
		r.Range(0, n)
		return
	}
	chunks := min(n/grain, p.Workers*overSplit)
	if chunks <= 1 {
		r.Range(0, n)
		return
	}
	helpers := startWorkers(min(chunks, p.Workers) - 1)
	j := getJob()
	j.r, j.n, j.chunks = r, n, chunks
	j.next.Store(0)
	j.pending.Store(int64(chunks))
	j.refs.Store(1)
	for range helpers {
		// Wake-ups queue only while the queue is shorter than the pool:
		// under load, workers do not fall ever further behind on stale
		// jobs, and the jobs they hold stay few.
		if len(wake) >= int(started.Load()) {
			break
		}
		j.refs.Add(1)
		select {
		case wake <- j:
			continue
		default:
			j.refs.Add(-1)
		}
		break
	}
	if !j.work() {
		// Another goroutine finishes the last range; poll briefly before blocking on done
		// (which it signals right after), for the same reason as poolWorker.
		for i := 0; i < spinPolls && j.pending.Load() > 0; i++ {
			runtime.Gosched()
		}
		<-j.done
	}
	j.release()
}

// overSplit is how many ranges per worker Run cuts.
const overSplit = 4

// maxPoolWorkers bounds the pool: Config.Workers of package cpu is at most
// 1024, the caller's goroutine included.
const maxPoolWorkers = 1023

var (
	// wake hands jobs to idle pool workers. A job sent here and found
	// with no range left is simply released by the worker.
	wake    = make(chan *job, maxPoolWorkers)
	started atomic.Int32 // pool workers started
	startMu sync.Mutex
	// freeJobs holds released jobs for reuse. Unlike a sync.Pool it is not
	// emptied by garbage collections, and a job released by a worker is
	// found by the next caller on any processor.
	freeJobs struct {
		sync.Mutex
		list []*job
	}
)

// getJob returns a released job, or a new one.
func getJob() *job {
	freeJobs.Lock()
	defer freeJobs.Unlock()
	if n := len(freeJobs.list); n > 0 {
		j := freeJobs.list[n-1]
		freeJobs.list = freeJobs.list[:n-1]
		return j
	}
	return newJob()
}

func newJob() *job { return &job{done: make(chan struct{}, 1)} }

// startWorkers makes sure at least want pool workers run (up to
// maxPoolWorkers) and returns how many may be woken. With every worker it
// adds two jobs to freeJobs (and one more with the first): one caller at a
// time never holds more than 2*workers+1 jobs (its own, one queued and one
// in hand per worker), so it never allocates one.
func startWorkers(want int) int {
	want = min(want, maxPoolWorkers)
	if int(started.Load()) < want {
		startMu.Lock()
		for int(started.Load()) < want {
			freeJobs.Lock()
			if started.Load() == 0 {
				freeJobs.list = append(freeJobs.list, newJob())
			}
			freeJobs.list = append(freeJobs.list, newJob(), newJob())
			freeJobs.Unlock()
			started.Add(1)
			go poolWorker()
		}
		startMu.Unlock()
	}
	return want
}

func poolWorker() {
	for {
		// Poll for a while before parking: the parallel loops of a training step follow each
		// other within microseconds, and waking a parked goroutine takes tens of them (the
		// runtime wakes a sleeping thread), longer than many loops last. OpenMP runtimes spin
		// the same way between parallel regions.
		var j *job
		for range spinPolls {
			select {
			case j = <-wake:
			default:
				continue
			}
			break
		}
		if j == nil {
			j = <-wake
		}
		if j.work() {
			j.done <- struct{}{}
		}
		j.release()
	}
}

// spinPolls is how many times an idle pool worker, and a caller waiting for the last ranges of
// its job, polls before blocking: about 20-50 µs.
const spinPolls = 1000

// job is one call of Run in flight.
type job struct {
	r         Ranger
	n, chunks int
	next      atomic.Int64 // next range to take
	pending   atomic.Int64 // ranges not yet finished
	refs      atomic.Int64 // the caller and every wake-up sent, until released
	done      chan struct{}
}

// work takes and runs ranges until none is left. It reports whether it
// finished the last pending range, whose finisher signals done if it is
// not the caller.
func (j *job) work() (last bool) {
	for {
		t := j.next.Add(1) - 1
		if t >= int64(j.chunks) {
			return false
		}
		j.r.Range(split(j.n, j.chunks, int(t)), split(j.n, j.chunks, int(t)+1))
		if j.pending.Add(-1) == 0 {
			return true
		}
	}
}

// release drops one reference; the last one returns j to freeJobs.
func (j *job) release() {
	if j.refs.Add(-1) == 0 {
		j.r = nil
		freeJobs.Lock()
		freeJobs.list = append(freeJobs.list, j)
		freeJobs.Unlock()
	}
}

// split returns the start of part t of [0, n) cut into parts equal parts,
// computed in 64 bits so that it cannot overflow on 32-bit platforms.
func split(n, parts, t int) int {
	return int(int64(n) * int64(t) / int64(parts))
}
