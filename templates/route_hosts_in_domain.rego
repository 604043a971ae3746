package khardenroutehostsindomain

# Gateway API hostnames lie under a listed domain, as Ingress hosts do. A
# route's `hostnames` (HTTPRoute, GRPCRoute, TLSRoute) are names strictly under
# a domain, never wildcards, and a route must list them: without any it takes
# every host of the listeners it attaches to. A Gateway's or ListenerSet's
# (XListenerSet before Gateway API 1.5) HTTP, HTTPS and TLS listeners name their hostname: a name under a domain, or
# a wildcard over the domain or a name under it. Hostnames are compared as
# written: Gateway API allows lower case only.

route_kinds := {"HTTPRoute", "GRPCRoute", "TLSRoute"}

listener_kinds := {"Gateway", "ListenerSet", "XListenerSet"}

hostname_protocols := {"HTTP", "HTTPS", "TLS"}

kind := input.review.kind.kind

domains := concat(" or ", input.parameters.domains)

under(host) {
	domain := input.parameters.domains[_]
	endswith(host, concat("", [".", domain]))
}

route_host_ok(host) {
	regex.match(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, host)
	under(host)
}

listener_host_ok(host) {
	regex.match(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, host)
	under(host)
}

violation[{"msg": msg}] {
	route_kinds[kind]
	count(object.get(input.review.object.spec, "hostnames", [])) == 0
	msg := sprintf("a %v must list its hostnames (names under %v): without them it takes every host of the Gateway listeners it attaches to", [kind, domains])
}

violation[{"msg": msg}] {
	route_kinds[kind]
	host := input.review.object.spec.hostnames[_]
	not route_host_ok(host)
	msg := sprintf("%v hostname %v must be a name under %v; wildcards are refused", [kind, host, domains])
}

violation[{"msg": msg}] {
	listener_kinds[kind]
	l := input.review.object.spec.listeners[_]
	hostname_protocols[l.protocol]
	object.get(l, "hostname", "") == ""
	msg := sprintf("%v listener %v (%v) must name a hostname under %v: without one it answers for every host", [kind, l.name, l.protocol, domains])
}

violation[{"msg": msg}] {
	listener_kinds[kind]
	l := input.review.object.spec.listeners[_]
	hostname_protocols[l.protocol]
	host := object.get(l, "hostname", "")
	host != ""
	not listener_host_ok(host)
	msg := sprintf("%v listener %v hostname %v must be a name under %v, or a wildcard over one", [kind, l.name, host, domains])
}
