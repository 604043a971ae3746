package khardeningresshostsindomain

# Every Ingress host is `<label>.<domain>` or deeper for a listed domain, with
# no empty label; the bare domain, wildcards, rules without a host and
# `spec.defaultBackend` (both take hosts no rule names) are refused.

hosts[host] {
	host := input.review.object.spec.rules[_].host
}

hosts[host] {
	host := input.review.object.spec.tls[_].hosts[_]
}

in_domain(host) {
	regex.match(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, lower(host))
	domain := input.parameters.domains[_]
	endswith(lower(host), concat("", [".", domain]))
}

violation[{"msg": msg}] {
	host := hosts[_]
	contains(host, "*")
	msg := sprintf("Ingress host %v: wildcard hosts are refused", [host])
}

violation[{"msg": msg}] {
	host := hosts[_]
	not contains(host, "*")
	not in_domain(host)
	msg := sprintf("Ingress host %v must be a name under %v", [host, concat(" or ", input.parameters.domains)])
}

violation[{"msg": msg}] {
	rule := input.review.object.spec.rules[_]
	object.get(rule, "host", "") == ""
	msg := sprintf("every Ingress rule needs a host under %v", [concat(" or ", input.parameters.domains)])
}

violation[{"msg": msg}] {
	input.review.object.spec.defaultBackend
	msg := sprintf("an Ingress with spec.defaultBackend takes the requests for every host no rule names, around the host rules: remove defaultBackend and route through rules whose hosts are under %v", [concat(" or ", input.parameters.domains)])
}
