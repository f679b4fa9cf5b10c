// Command fanout runs one command on many host aliases through
// engine/sshx, a dial, a run and a close per host with host keys verified,
// at a given parallelism, and prints the wall time. bench/ssh-fanout.sh
// sets up the server and compares it with OpenSSH's client.
//
//	fanout -port 2222 -identity id -known-hosts kh -n 200 -parallel 50 -cmd true
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/user"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx"
	"github.com/rolloutconsole/rollout/inventory"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run() error {
	me, _ := user.Current()
	var (
		addr       = flag.String("addr", "127.0.0.1", "address every alias dials")
		port       = flag.Int("port", 22, "port every alias dials")
		userName   = flag.String("user", me.Username, "remote user")
		identity   = flag.String("identity", "", "identity file (no agent is used)")
		knownHosts = flag.String("known-hosts", "", "known_hosts file")
		n          = flag.Int("n", 200, "number of aliases: PREFIX001..")
		prefix     = flag.String("prefix", "host-", "alias prefix")
		parallel   = flag.Int("parallel", 50, "hosts at once")
		handshakes = flag.Int("handshakes", 0, "MaxConcurrentHandshakes (0: the transport's default)")
		cmd        = flag.String("cmd", "true", "command to run")
		commands   = flag.Int("commands", 1, "commands run per host, one after another (apply, then verify)")
		warm       = flag.Bool("warm", false, "each command but the last says another follows (engine.Command.More), so the next one runs in the same session")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile here")
	)
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	tr := sshx.New(sshx.Options{
		MaxConcurrentHandshakes: *handshakes,
		GlobalKnownHosts:        []string{},
		Getenv:                  func(string) string { return "" }, // no agent: the identity file only
	})
	var idFiles []string
	if *identity != "" {
		idFiles = []string{*identity}
	}
	sem := make(chan struct{}, *parallel)
	var wg sync.WaitGroup
	var failed atomic.Int32
	var firstErr sync.Once
	start := time.Now()
	for i := 1; i <= *n; i++ {
		h := &inventory.Host{Name: fmt.Sprintf("%s%03d", *prefix, i), Settings: inventory.Settings{
			Address: *addr, Port: *port, User: *userName, IdentityFile: idFiles, KnownHosts: *knownHosts,
		}}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := one(tr, h, *cmd, *commands, *warm); err != nil {
				failed.Add(1)
				firstErr.Do(func() { fmt.Fprintln(os.Stderr, "fanout:", err) })
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("sshx: %d hosts, parallel %d, %d failed, %.3fs\n", *n, *parallel, failed.Load(), took.Seconds())
	if failed.Load() > 0 {
		return fmt.Errorf("%d hosts failed", failed.Load())
	}
	return nil
}

func one(tr *sshx.Transport, h *inventory.Host, cmd string, commands int, warm bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := 1; i <= commands; i++ {
		code, err := c.Run(ctx, engine.Command{Line: cmd, More: warm && i < commands}, func(engine.Stream, []byte) {})
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s: exit %d", h.Name, code)
		}
	}
	return nil
}
