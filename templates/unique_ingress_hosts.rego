package khardenuniqueingresshosts

# No two Ingresses in different namespaces claim the same host. Other Ingresses
# are seen through Gatekeeper's replicated inventory (the sync Config).

violation[{"msg": msg}] {
	host := lower(input.review.object.spec.rules[_].host)
	other := data.inventory.namespace[ns][_].Ingress[name]
	ns != input.review.namespace
	lower(other.spec.rules[_].host) == host
	msg := sprintf("Ingress host %v is already claimed by Ingress %v/%v", [host, ns, name])
}
