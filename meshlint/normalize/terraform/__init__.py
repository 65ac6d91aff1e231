"""Terraform input: `aws_appmesh_*` resources in HCL modules (reader) and in plan/state JSON (plan)."""

from meshlint.normalize.terraform.plan import is_plan, read_plan
from meshlint.normalize.terraform.reader import is_terraform, read_modules

__all__ = ["is_plan", "is_terraform", "read_modules", "read_plan"]
