//! Pod subnet prediction: node k in join order gets the k-th free block of the pod network.

use super::Cluster;
use crate::cidr::Cidr;

/// Fills `pod_cidrs` of every unpinned node, family by family, in join order.
///
/// A node whose block cannot be allocated (the pod network is too small) gets none; rule
/// MS105 reports it.
pub(super) fn predict_pod_cidrs(c: &mut Cluster) {
    let order = c.join_order.clone();
    let mut predicted: Vec<Vec<Cidr>> = c
        .nodes
        .iter()
        .map(|n| {
            if n.pod_cidr_pinned {
                n.pod_cidrs.clone()
            } else {
                Vec::new()
            }
        })
        .collect();
    for (cluster_cidr, (family, mask)) in c
        .network
        .cluster_cidrs
        .iter()
        .zip(c.network.node_masks.clone())
    {
        let pinned: Vec<Cidr> = c
            .nodes
            .iter()
            .filter(|n| n.pod_cidr_pinned)
            .flat_map(|n| n.pod_cidrs.iter().copied())
            .filter(|p| p.family() == family)
            .collect();
        let wanted = order
            .iter()
            .filter(|i| c.nodes.get(**i).is_some_and(|n| !n.pod_cidr_pinned))
            .count();
        let blocks = crate::cidr::allocate(cluster_cidr, mask, wanted, &pinned)
            .unwrap_or_else(|_| partial(cluster_cidr, mask, wanted, &pinned));
        let mut next = blocks.into_iter();
        for i in &order {
            let Some(n) = c.nodes.get(*i) else { continue };
            if n.pod_cidr_pinned {
                continue;
            }
            if let (Some(b), Some(slot)) = (next.next(), predicted.get_mut(*i)) {
                slot.push(b);
            }
        }
    }
    for (n, p) in c.nodes.iter_mut().zip(predicted) {
        n.pod_cidrs = p;
    }
}

/// As many blocks as fit, when the network cannot hold all of them.
fn partial(cluster: &Cidr, mask: u8, wanted: usize, pinned: &[Cidr]) -> Vec<Cidr> {
    crate::cidr::blocks(cluster, mask)
        .filter(|b| !pinned.iter().any(|p| p.overlaps(b)))
        .take(wanted)
        .collect()
}
