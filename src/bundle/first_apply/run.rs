//! The step loop of `first_apply`: the cluster's state (what is applied, which
//! kinds are served, what is healthy) and the three deliveries stepping it. A
//! delivery sees the cluster as it was one step before (watch latency), so
//! nothing it starts can count as coming before what it observed.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Arrival, CREATE_LAG, Check, Class, Delivery, ENFORCE_LAG, FluxStage, HORIZON, Object, Outcome,
    RERUN, Retry, Wait,
};
use crate::bundle::stage::{CONSTRAINT_GROUP, built_in};

type Checks = BTreeMap<(String, String), Check>;

struct World<'b> {
    objs: &'b [Object],
    arrival: Arrival,
    applied: BTreeMap<usize, u32>,
}

impl World<'_> {
    fn at(&self, i: usize) -> Option<u32> {
        self.applied.get(&i).copied()
    }

    fn applied_by(&self, i: usize, t: u32) -> bool {
        self.at(i).is_some_and(|a| a <= t)
    }

    /// The object defining kind (group, kind): a CRD or ConstraintTemplate.
    fn definer(&self, group: &str, kind: &str) -> Option<usize> {
        self.objs.iter().position(|o| {
            o.defines
                .as_ref()
                .is_some_and(|(g, k)| g == group && k == kind)
        })
    }

    /// Whether the API server serves the object's kind at step `t`.
    fn served(&self, o: &Object, t: u32) -> bool {
        if built_in(&o.group) {
            return true;
        }
        if let Some(d) = self.definer(&o.group, &o.kind) {
            let lag = if o.group == CONSTRAINT_GROUP {
                CREATE_LAG
            } else {
                1
            };
            return self.at(d).is_some_and(|a| a + lag <= t);
        }
        if o.group == CONSTRAINT_GROUP {
            return false;
        }
        self.engine(&o.group) <= t
    }

    fn engine(&self, group_or_namespace: &str) -> u32 {
        if group_or_namespace.contains("gatekeeper") {
            self.arrival.gatekeeper
        } else {
            self.arrival.others
        }
    }

    /// Whether the object's namespace exists at step `t`.
    fn namespace_ok(&self, o: &Object, t: u32) -> bool {
        let Some(ns) = &o.namespace else {
            return true;
        };
        let own = self
            .objs
            .iter()
            .position(|n| n.kind == "Namespace" && &n.name == ns);
        match (own, ns.as_str()) {
            (Some(n), _) => self.applied_by(n, t),
            (None, "default" | "kube-system" | "kube-public") => true,
            (None, other) => self.engine(other) <= t,
        }
    }

    fn can_apply(&self, i: usize, t: u32) -> bool {
        self.served(&self.objs[i], t) && self.namespace_ok(&self.objs[i], t)
    }

    /// Apply `idx` as `kubectl apply` does: Namespaces and CRDs first, then
    /// every object that can be; whether all could.
    fn apply(&mut self, idx: &[usize], t: u32) -> bool {
        let first =
            |o: &Object| matches!(o.kind.as_str(), "Namespace" | "CustomResourceDefinition");
        let (a, b): (Vec<usize>, Vec<usize>) = idx.iter().partition(|i| first(&self.objs[**i]));
        let mut all = true;
        for i in a.into_iter().chain(b) {
            if self.can_apply(i, t) {
                self.applied.entry(i).or_insert(t);
            } else {
                all = false;
            }
        }
        all
    }

    /// Whether object `i` is ready at step `t` to a delivery that checks the
    /// Gatekeeper kinds in `checks` (anything else is ready once applied, as a
    /// kind without conditions is to kstatus and to Argo CD).
    fn ready(&self, i: usize, t: u32, checks: &Checks) -> bool {
        let Some(a) = self.at(i).filter(|a| *a <= t) else {
            return false;
        };
        let o = &self.objs[i];
        if o.class == Class::Workload {
            return o.needs.iter().all(|(kind, name)| {
                (kind == "ServiceAccount" && name == "default")
                    || self.objs.iter().enumerate().any(|(j, n)| {
                        &n.kind == kind
                            && &n.name == name
                            && n.namespace == o.namespace
                            && self.applied_by(j, t)
                    })
            });
        }
        match checks.get(&(o.group.clone(), o.kind.clone())) {
            Some(Check::Created) => a + CREATE_LAG <= t,
            Some(Check::Enforced) => a + ENFORCE_LAG <= t,
            None => true,
        }
    }

    fn all_ready(&self, idx: &[usize], t: u32, checks: &Checks) -> bool {
        idx.iter().all(|i| self.ready(*i, t, checks))
    }
}

/// Objects of a stage directory, by index.
fn of_stage(objs: &[Object], stage: &str) -> Vec<usize> {
    (0..objs.len())
        .filter(|i| objs[*i].stage == stage)
        .collect()
}

/// Run `delivery` of `objs` on an empty cluster whose engines arrive at `arrival`.
pub fn simulate(objs: &[Object], delivery: &Delivery, arrival: Arrival) -> Outcome {
    let mut w = World {
        objs,
        arrival,
        applied: BTreeMap::new(),
    };
    match delivery {
        Delivery::Kubectl { waits, timeout } => kubectl(&mut w, waits, *timeout),
        Delivery::Flux(ks) => flux(&mut w, ks),
        Delivery::Argo { retry, health } => argo(&mut w, retry.as_ref(), health),
    }
    let in_force = in_force(objs, &w.applied);
    Outcome {
        applied: w.applied,
        in_force,
    }
}

fn kubectl(w: &mut World, waits: &BTreeMap<String, Vec<Wait>>, timeout: u32) {
    let stages: Vec<String> = w
        .objs
        .iter()
        .map(|o| o.stage.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (mut idx, mut resume, mut waiting) = (0, 0, None::<u32>);
    for t in 0..HORIZON {
        if idx == stages.len() || t < resume {
            continue;
        }
        let objs = of_stage(w.objs, &stages[idx]);
        let seen = t.saturating_sub(1);
        let Some(deadline) = waiting else {
            // `kubectl apply -k "$s" || break`
            if !w.apply(&objs, t) {
                (idx, resume) = (0, t + RERUN);
            } else if waits.get(&stages[idx]).is_some_and(|v| !v.is_empty()) {
                waiting = Some(t + timeout);
            } else {
                idx += 1;
            }
            continue;
        };
        let done = waits[&stages[idx]].iter().all(|wait| match wait {
            Wait::Created | Wait::Enforced => objs.iter().all(|i| {
                let check = if *wait == Wait::Created {
                    Check::Created
                } else {
                    Check::Enforced
                };
                let o = &w.objs[*i];
                let c = BTreeMap::from([((o.group.clone(), o.kind.clone()), check)]);
                w.ready(*i, seen, &c)
            }),
            Wait::Established => objs.iter().all(|i| match &w.objs[*i].defines {
                Some((g, k)) => w
                    .objs
                    .iter()
                    .filter(|o| &o.group == g && &o.kind == k)
                    .all(|o| w.served(o, seen)),
                None => true,
            }),
        });
        if done {
            (idx, waiting) = (idx + 1, None);
        } else if t >= deadline {
            (idx, resume, waiting) = (0, t + RERUN, None);
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Kust {
    ready: bool,
    next: u32,
    waiting: Option<u32>,
}

fn flux(w: &mut World, ks: &[FluxStage]) {
    let mut state = vec![Kust::default(); ks.len()];
    for t in 0..HORIZON {
        let seen = t.saturating_sub(1);
        for (n, k) in ks.iter().enumerate() {
            let s = state[n];
            if s.ready || t < s.next {
                continue;
            }
            let objs = of_stage(w.objs, &k.stage);
            if let Some(deadline) = s.waiting {
                if w.all_ready(&objs, seen, &k.health) {
                    state[n] = Kust { ready: true, ..s };
                } else if t >= deadline {
                    state[n] = Kust {
                        ready: false,
                        next: t + k.retry,
                        waiting: None,
                    };
                }
                continue;
            }
            let deps_ready = k.depends_on.iter().all(|d| {
                ks.iter()
                    .zip(&state)
                    .any(|(o, st)| &o.stage == d && st.ready)
            });
            if !deps_ready {
                state[n].next = t + 1;
                continue;
            }
            // Namespaces and CRDs first, then a server-side dry run of the
            // rest: one failure and none of the rest is applied.
            let (first, rest): (Vec<usize>, Vec<usize>) = objs.iter().partition(|i| {
                matches!(
                    w.objs[**i].kind.as_str(),
                    "Namespace" | "CustomResourceDefinition"
                )
            });
            let ok = w.apply(&first, t) && rest.iter().all(|i| w.can_apply(*i, t));
            if !ok {
                state[n].next = t + k.retry;
                continue;
            }
            w.apply(&rest, t);
            state[n] = if k.wait {
                Kust {
                    waiting: Some(t + k.timeout),
                    ..s
                }
            } else {
                Kust { ready: true, ..s }
            };
        }
    }
}

fn argo(w: &mut World, retry: Option<&Retry>, health: &Checks) {
    let waves: Vec<i64> = w
        .objs
        .iter()
        .map(|o| o.wave)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let of_wave = |wave: i64| -> Vec<usize> {
        (0..w.objs.len())
            .filter(|i| w.objs[*i].wave == wave)
            .collect()
    };
    let (mut start, mut retries, mut wave, mut running) = (Some(0u32), 0u32, 0usize, false);
    for t in 0..HORIZON {
        let seen = t.saturating_sub(1);
        if !running {
            if start != Some(t) {
                continue;
            }
            // The dry run: a kind neither served nor defined in this sync fails
            // it, unless the object skips its dry run.
            let dry = (0..w.objs.len()).all(|i| {
                let o = &w.objs[i];
                w.served(o, t)
                    || (o.group != CONSTRAINT_GROUP && w.definer(&o.group, &o.kind).is_some())
                    || o.skip_dry_run
            });
            if dry {
                (running, wave) = (true, 0);
                if apply_wave(w, &of_wave(waves[0]), t) {
                    if waves.len() == 1 {
                        return;
                    }
                    continue;
                }
            }
        } else if w.all_ready(&of_wave(waves[wave]), seen, health) {
            wave += 1;
            if apply_wave(w, &of_wave(waves[wave]), t) {
                // The last wave: the sync succeeds once it is applied, healthy or not.
                if wave + 1 == waves.len() {
                    return;
                }
                continue;
            }
        } else {
            continue;
        }
        // The sync failed: Argo CD never syncs the same commit again by
        // itself, unless the Application retries.
        running = false;
        start = match retry {
            Some(r) if r.limit < 0 || i64::from(retries) < r.limit => Some(t + r.after(retries)),
            _ => None,
        };
        retries += 1;
    }
}

fn apply_wave(w: &mut World, idx: &[usize], t: u32) -> bool {
    w.apply(idx, t)
}

/// When each policy came into force: a Constraint once Gatekeeper enforces
/// it, an admission policy once it and a binding of it exist, a binding once it
/// and its policy exist.
fn in_force(objs: &[Object], applied: &BTreeMap<usize, u32>) -> BTreeMap<usize, u32> {
    let mut out = BTreeMap::new();
    let policy_at = |name: &str, binding: &Object| {
        let kind = binding.kind.trim_end_matches("Binding");
        objs.iter()
            .position(|p| p.kind == kind && p.name == name)
            .and_then(|p| applied.get(&p).copied())
    };
    for (i, o) in objs.iter().enumerate() {
        if o.class != Class::Policy {
            continue;
        }
        let Some(&a) = applied.get(&i) else { continue };
        let at = if o.group == CONSTRAINT_GROUP {
            Some(a + ENFORCE_LAG)
        } else if let Some(name) = &o.binds {
            policy_at(name, o).map(|p| p.max(a))
        } else {
            let binding = format!("{}Binding", o.kind);
            objs.iter()
                .enumerate()
                .filter(|(_, b)| b.kind == binding && b.binds.as_ref() == Some(&o.name))
                .filter_map(|(j, _)| applied.get(&j).copied())
                .min()
                .map(|b| b.max(a))
        };
        if let Some(at) = at {
            out.insert(i, at);
        }
    }
    out
}

/// Assertion (a): every policy object comes into force, and before any grant
/// or workload is applied.
pub fn violations(objs: &[Object], outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    let policies: Vec<usize> = (0..objs.len())
        .filter(|i| objs[*i].class == Class::Policy)
        .collect();
    for p in &policies {
        if !outcome.in_force.contains_key(p) {
            out.push(format!("{} is never in force", objs[*p].id()));
        }
    }
    for (i, t) in &outcome.applied {
        let o = &objs[*i];
        if !matches!(o.class, Class::Grant | Class::Workload) {
            continue;
        }
        let late: Vec<String> = policies
            .iter()
            .filter(|p| outcome.in_force.get(p).is_none_or(|f| f >= t))
            .map(|p| objs[*p].id())
            .collect();
        if let Some(first) = late.first() {
            out.push(format!(
                "{} ({}) applied at step {t}, before {first} is in force ({} policies not yet)",
                o.id(),
                o.stage,
                late.len()
            ));
        }
    }
    out
}

/// Assertion (b): what, up to and including the last stage holding a policy,
/// waits on a workload's health.
pub fn waits_on_workloads(objs: &[Object], delivery: &Delivery) -> Vec<String> {
    let Some(policy) = objs
        .iter()
        .filter(|o| o.class == Class::Policy)
        .map(|o| o.stage.clone())
        .max()
    else {
        return Vec::new();
    };
    let workloads_in = |stage: &str| -> Vec<String> {
        objs.iter()
            .filter(|o| o.stage == stage && o.class == Class::Workload)
            .map(Object::id)
            .collect()
    };
    let mut out = Vec::new();
    match delivery {
        Delivery::Flux(ks) => {
            // The policy stage and everything it depends on, transitively.
            let mut need = vec![policy];
            let mut seen = BTreeSet::new();
            while let Some(s) = need.pop() {
                if !seen.insert(s.clone()) {
                    continue;
                }
                if let Some(k) = ks.iter().find(|k| k.stage == s) {
                    if k.wait {
                        for id in workloads_in(&s) {
                            out.push(format!("Flux waits on {id} in {s}"));
                        }
                    }
                    need.extend(k.depends_on.iter().cloned());
                }
            }
        }
        Delivery::Argo { .. } => {
            let last = objs.iter().map(|o| o.wave).max().unwrap_or(0);
            let policy_wave = objs
                .iter()
                .filter(|o| o.class == Class::Policy)
                .map(|o| o.wave)
                .max()
                .unwrap_or(0);
            for o in objs
                .iter()
                .filter(|o| o.class == Class::Workload && o.wave <= policy_wave && o.wave < last)
            {
                out.push(format!("Argo CD wave {} waits on {}", o.wave, o.id()));
            }
        }
        // The loop waits only on Gatekeeper's objects.
        Delivery::Kubectl { .. } => {}
    }
    out
}
