region          = "eu-west-1"
environment     = "prod"
instance_type   = "t3.medium"

db_username     = "ledger"
db_password     = "⟦p1:password⟧"

datadog_api_key = "⟦k1:hex/32⟧"
github_token    = "⟦t1:ghp!⟧"

allowed_cidrs = ["10.20.0.0/16", "10.30.0.0/16"]
