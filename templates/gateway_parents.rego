package khardengatewayparents

# A route (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) or ListenerSet
# (XListenerSet before Gateway API 1.5), in any version, attaches only to the Gateways the profile lists for its namespace
# (`parameters.gateways`: "namespace/name" to the namespaces it routes, "*" for
# all). A parentRef without a namespace means the object's own; without group
# and kind, a Gateway. A route may also name a Service of its own namespace
# (mesh routing, GAMMA), which reaches no Gateway.

route_kinds := {"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}

listener_set_kinds := {"ListenerSet", "XListenerSet"}

refs[ref] {
	route_kinds[input.review.kind.kind]
	ref := input.review.object.spec.parentRefs[_]
}

refs[ref] {
	listener_set_kinds[input.review.kind.kind]
	ref := input.review.object.spec.parentRef
}

ref_group(ref) = g {
	g := object.get(ref, "group", "gateway.networking.k8s.io")
}

ref_kind(ref) = k {
	k := object.get(ref, "kind", "Gateway")
}

ref_namespace(ref) = ns {
	ns := object.get(ref, "namespace", input.review.namespace)
}

allowed(ref) {
	ref_group(ref) == "gateway.networking.k8s.io"
	ref_kind(ref) == "Gateway"
	key := sprintf("%v/%v", [ref_namespace(ref), ref.name])
	routed := input.parameters.gateways[key]
	routed[_] == ["*", input.review.namespace][_]
}

allowed(ref) {
	ref_group(ref) == ""
	ref_kind(ref) == "Service"
	ref_namespace(ref) == input.review.namespace
}

violation[{"msg": msg}] {
	ref := refs[_]
	not allowed(ref)
	msg := sprintf("%v may not attach to %v %v/%v: routes of namespace %v attach only to the Gateways kharden lists for it (cluster.gateways)", [input.review.kind.kind, ref_kind(ref), ref_namespace(ref), object.get(ref, "name", ""), input.review.namespace])
}
