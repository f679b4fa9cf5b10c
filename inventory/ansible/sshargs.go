package ansible

import (
	"fmt"
	"path"
	"strings"
)

// sshArgFlags are the ssh(1) options that take an argument.
const sshArgFlags = "BbcDEeFIiJLlmOoPpQRSWw"

// sshJump reads where ssh arguments (ansible_ssh_common_args and the like)
// send the connection through: -J, -o ProxyJump, or a ProxyCommand that is a
// jump in disguise ("ssh -W %h:%p [user@]bastion"). found reports that the
// arguments name a proxy at all (ProxyJump=none included); as with ssh, the
// first one given wins. A ProxyCommand that is not a jump is an error: going
// around the bastion without a word is worse than refusing.
func sshJump(args string) (jump []string, found bool, err error) {
	words, serr := splitShell(args)
	if serr != nil {
		return nil, false, fmt.Errorf("cannot split %q as ssh does: %s", args, serr.msg)
	}
	for i := 0; i < len(words) && !found; i++ {
		w := words[i].text
		next := func() string {
			if i+1 < len(words) {
				i++
				return words[i].text
			}
			return ""
		}
		switch {
		case w == "-o":
			jump, found, err = sshOption(next())
		case strings.HasPrefix(w, "-o"):
			jump, found, err = sshOption(w[2:])
		case w == "-J":
			jump, found = splitJump(next()), true
		case strings.HasPrefix(w, "-J"):
			jump, found = splitJump(w[2:]), true
		case len(w) == 2 && w[0] == '-' && strings.IndexByte(sshArgFlags, w[1]) >= 0:
			next()
		}
	}
	return jump, found, err
}

// sshOption reads one -o option, "Keyword=value" or "Keyword value".
func sshOption(opt string) (jump []string, found bool, err error) {
	opt = strings.TrimSpace(opt)
	i := strings.IndexAny(opt, "= \t")
	if i < 0 {
		return nil, false, nil
	}
	key := opt[:i]
	value := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(opt[i:]), "="))
	switch strings.ToLower(key) {
	case "proxyjump":
		return splitJump(value), true, nil
	case "proxycommand":
		if strings.EqualFold(value, "none") {
			return nil, true, nil
		}
		jump, err := proxyCommandJump(value)
		return jump, true, err
	}
	return nil, false, nil
}

// splitJump splits a ProxyJump value; "none" is no jump.
func splitJump(v string) []string {
	if v = strings.TrimSpace(v); v == "" || strings.EqualFold(v, "none") {
		return nil
	}
	var out []string
	for _, j := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(j))
	}
	return out
}

// proxyCommandJump turns "ssh [opts] -W %h:%p [user@]host", or
// "ssh [opts] [user@]host nc %h %p", into the jump "[user@]host[:port]",
// after any -J hops of its own.
func proxyCommandJump(cmd string) ([]string, error) {
	refuse := fmt.Errorf("cannot follow ProxyCommand %q: rollout follows a ProxyJump, or a ProxyCommand of the form \"ssh -W %%h:%%p [user@]host\"", cmd)
	words, serr := splitShell(cmd)
	if serr != nil || len(words) == 0 || path.Base(words[0].text) != "ssh" {
		return nil, refuse
	}
	var hops []string
	var dest, user, port string
	forward := false
	var command []string
	for i := 1; i < len(words); i++ {
		w := words[i].text
		if command != nil {
			command = append(command, w)
			continue
		}
		arg := func() string {
			if len(w) > 2 {
				return w[2:]
			}
			if i+1 < len(words) {
				i++
				return words[i].text
			}
			return ""
		}
		switch {
		case len(w) < 2 || w[0] != '-':
			if dest != "" {
				command = []string{w}
				continue
			}
			dest = w
		case w[1] == 'W':
			if v := arg(); v != "%h:%p" && v != "[%h]:%p" {
				return nil, refuse
			}
			forward = true
		case w[1] == 'J':
			hops = append(hops, splitJump(arg())...)
		case w[1] == 'p':
			port = arg()
		case w[1] == 'l':
			user = arg()
		case w[1] == 'o':
			if _, found, _ := sshOption(arg()); found {
				return nil, refuse // a proxy inside the proxy
			}
		case strings.IndexByte(sshArgFlags, w[1]) >= 0:
			arg()
		}
	}
	if command != nil {
		// "ssh bastion nc %h %p": netcat on the bastion, as a jump.
		n, base := len(command), path.Base(command[0])
		forward = !forward && (base == "nc" || base == "ncat" || base == "netcat") && n >= 3 && command[n-2] == "%h" && command[n-1] == "%p"
	}
	if !forward || dest == "" {
		return nil, refuse
	}
	if u, h, ok := strings.Cut(dest, "@"); ok {
		if user == "" {
			user = u
		}
		dest = h
	}
	if user != "" {
		dest = user + "@" + dest
	}
	if port != "" {
		dest += ":" + port
	}
	return append(hops, dest), nil
}
