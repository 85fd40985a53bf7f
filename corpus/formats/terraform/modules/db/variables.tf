variable "db_username" {
  type        = string
  description = "Master user name"
}

variable "db_password" {
  type        = string
  description = "Master password; pass it with TF_VAR_db_password"
  sensitive   = true
}

resource "aws_db_instance" "this" {
  username = var.db_username
  password = var.db_password
}
