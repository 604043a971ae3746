package khardenuniqueroutehosts

# No two namespaces claim one hostname: a route's hostnames (HTTPRoute,
# GRPCRoute, TLSRoute) are refused when a route or an Ingress of another
# namespace already holds them. Other objects are seen through Gatekeeper's
# replicated inventory (the sync Config).

route_kinds := {"HTTPRoute", "GRPCRoute", "TLSRoute"}

claims[[ns, holder, host]] {
	obj := data.inventory.namespace[ns][_][k][name]
	route_kinds[k]
	host := obj.spec.hostnames[_]
	holder := sprintf("%v %v/%v", [k, ns, name])
}

claims[[ns, holder, host]] {
	obj := data.inventory.namespace[ns][_].Ingress[name]
	host := lower(obj.spec.rules[_].host)
	holder := sprintf("Ingress %v/%v", [ns, name])
}

violation[{"msg": msg}] {
	kind := input.review.kind.kind
	route_kinds[kind]
	host := input.review.object.spec.hostnames[_]
	claim := claims[_]
	claim[0] != input.review.namespace
	claim[2] == host
	msg := sprintf("%v hostname %v is already claimed by %v", [kind, host, claim[1]])
}
