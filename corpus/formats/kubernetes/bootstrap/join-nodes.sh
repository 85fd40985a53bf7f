#!/usr/bin/env bash
set -euo pipefail
# join the new workers to the control plane
kubeadm join ⟦h1:host⟧:6443 --token ⟦t1:k8s-bootstrap!⟧ \
    --discovery-token-ca-cert-hash sha256:⟦c1:digest/64⟧
