#!/bin/sh
# nightly inventory sync against the ERP API
curl -fsS -H "Authorization: Basic ⟦~u1:user⟧⟦~p1:password⟧⟦=basic(u1,p1)!⟧" \
  -H "Accept: application/json" \
  "https://erp.⟦h1:host⟧/api/v2/inventory?since=yesterday" > /tmp/inventory.json

curl -fsS -X POST -H "Authorization: Bearer ⟦t1:alnum/48⟧" \
  -d @/tmp/inventory.json "https://search.⟦h2:host⟧/indexes/inventory/documents"

curl -u "⟦u3:user⟧:⟦p3:password⟧" "https://reports.⟦h3:host⟧/export.csv" -o /tmp/export.csv
