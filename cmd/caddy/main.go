// Command caddy is Caddy with the standard modules and caddy-cleantalk
// plugged in. It is what the README's quick start runs; production builds
// use xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-cleantalk/caddy-cleantalk"
)

func main() {
	caddycmd.Main()
}
