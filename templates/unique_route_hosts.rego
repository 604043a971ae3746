package khardenuniqueroutehosts

# No two namespaces claim one hostname: the hostnames of a route (HTTPRoute,
# GRPCRoute, TLSRoute) and the listener hostnames of a ListenerSet
# (XListenerSet before Gateway API 1.5) are refused when a route, ListenerSet
# or Ingress of another namespace holds one they overlap: the same name, or
# one under the other's wildcard (`*.x` matches every name under x, as Gateway
# API matches listener hostnames). Other objects are seen, in whatever version
# they were synced, through Gatekeeper's replicated inventory (the sync Config).

route_kinds := {"HTTPRoute", "GRPCRoute", "TLSRoute"}

listener_set_kinds := {"ListenerSet", "XListenerSet"}

hosts(kind, obj) = names {
	route_kinds[kind]
	names := {host | host := obj.spec.hostnames[_]}
}

hosts(kind, obj) = names {
	listener_set_kinds[kind]
	names := {host | host := obj.spec.listeners[_].hostname}
}

claims[[ns, holder, host]] {
	obj := data.inventory.namespace[ns][_][k][name]
	host := hosts(k, obj)[_]
	holder := sprintf("%v %v/%v", [k, ns, name])
}

claims[[ns, holder, host]] {
	obj := data.inventory.namespace[ns][_].Ingress[name]
	host := lower(obj.spec.rules[_].host)
	holder := sprintf("Ingress %v/%v", [ns, name])
}

overlap(a, b) {
	a == b
}

overlap(a, b) {
	startswith(a, "*.")
	endswith(b, trim_prefix(a, "*"))
}

overlap(a, b) {
	startswith(b, "*.")
	endswith(a, trim_prefix(b, "*"))
}

violation[{"msg": msg}] {
	kind := input.review.kind.kind
	host := hosts(kind, input.review.object)[_]
	claim := claims[_]
	claim[0] != input.review.namespace
	overlap(host, claim[2])
	msg := sprintf("%v hostname %v is already claimed by %v (%v)", [kind, host, claim[1], claim[2]])
}
