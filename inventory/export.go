package inventory

// The checks the loader applies to names and settings, exported so that a
// reader of another inventory format (inventory/ansible) builds an Inventory
// that passes exactly the same checks as one loaded from inventory.yaml,
// rather than a copy of them that could drift.

// HostNameHint says what a valid host name is, for hints.
const HostNameHint = hostNameHint

// ValidHostName reports whether name is safe to use as a host name: 1 to 253
// letters, digits, '.', '_' and '-', not starting with '.' or '-', so that it
// can never be read as an option or break out of a command.
func ValidHostName(name string) bool { return validHostName(name) }

// ValidUser reports whether u is a valid remote user name: a host name's
// characters, at most 64 of them, and an optional trailing '$'.
func ValidUser(u string) bool { return validUser(u) }

// ValidAddress reports whether a is a valid host name or IP address to dial.
func ValidAddress(a string) bool { return validAddress(a) }

// ValidJump reports whether j is a valid jump host: [user@]host[:port].
func ValidJump(j string) bool { return validJump(j) }

// ValidServiceName reports whether name is a valid service name: letters,
// digits, '.', '_' and '-', starting with a letter or digit.
func ValidServiceName(name string) bool { return serviceName.MatchString(name) }

// Fill sets the settings that set reports unset ("address", "user", "port",
// "identity_file", "jump") from the config's entry for alias, as the loader
// does. A value the inventory would refuse is not used: it is returned as a
// problem, one sentence each, for the caller to report where the host is.
func (c *SSHConfig) Fill(alias string, s *Settings, set func(key string) bool) (problems []string) {
	return c.fill(alias, s, set)
}
