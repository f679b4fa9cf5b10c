package ansible

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rolloutconsole/rollout/inventory"
)

// Bounds on what one file may expand to, so that a typo or a hostile file is
// an error rather than a machine that runs out of memory: at most maxHosts
// distinct hosts, and at most maxNames names expanded in all (the same hosts
// listed in several groups count each time). Variables only so that tests
// can reach them cheaply.
var (
	maxHosts = 100_000
	maxNames = 1_000_000
)

// hostPattern splits a host entry as Ansible reads one, "pattern[:port]",
// and expands its ranges ("www[01:50].example.com", "db-[a:f]",
// "www[01:50:2]"). A bare or bracketed IPv6 address is one name and takes no
// range; a port, when given, is returned as written.
func hostPattern(s string) (names []string, port string, err error) {
	if strings.HasSuffix(s, ":") {
		return nil, "", fmt.Errorf("host %q ends in ':': give a port after it, or remove it", s)
	}
	host := s
	tail := s[strings.LastIndexByte(s, ']')+1:]
	colons := strings.Count(tail, ":")
	if strings.Contains(tail, "[") {
		colons = 0 // an unclosed range, for Expand to report
	}
	switch colons {
	case 0:
	case 1:
		i := strings.LastIndexByte(s, ':')
		host, port = s[:i], s[i+1:]
		if !isDigits(port) {
			return nil, "", fmt.Errorf("port %q of host %q is not a number", port, s)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, "", fmt.Errorf("port %s of host %q is out of range: it must be between 1 and 65535", port, s)
		}
	default:
		// An IPv6 address (2001:db8::1) has no port.
		if net.ParseIP(s) != nil {
			return []string{s}, "", nil
		}
	}
	// A bracketed IPv6 address, "[2001:db8::1]:2222".
	if n := len(host); n > 2 && host[0] == '[' && host[n-1] == ']' {
		if ip := host[1 : n-1]; strings.Contains(ip, ":") && net.ParseIP(ip) != nil {
			return []string{ip}, port, nil
		}
	}
	if host == "" {
		return nil, "", fmt.Errorf("host %q has no name before its port", s)
	}
	names, err = inventory.Expand(host)
	if err != nil {
		return nil, "", err
	}
	return names, port, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
