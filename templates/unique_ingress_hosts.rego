package khardenuniqueingresshosts

# No two Ingresses in different namespaces claim the same host. Other Ingresses
# are seen through Gatekeeper's replicated inventory (the sync Config). An
# Ingress with `spec.defaultBackend` is refused: it takes the requests for every
# host no rule names, whoever holds them.

violation[{"msg": msg}] {
	host := lower(input.review.object.spec.rules[_].host)
	other := data.inventory.namespace[ns][_].Ingress[name]
	ns != input.review.namespace
	lower(other.spec.rules[_].host) == host
	msg := sprintf("Ingress host %v is already claimed by Ingress %v/%v", [host, ns, name])
}

violation[{"msg": msg}] {
	input.review.object.spec.defaultBackend
	msg := "an Ingress with spec.defaultBackend takes the requests for every host no rule names, including hosts other namespaces hold: remove defaultBackend and route through rules with hosts of your own"
}
