"""The local runtime behind `hookline dev` and the integration tests.

`hookline.local.cfn` deploys template.yaml into moto as `sam deploy` would (the SAM
translator, then moto's CloudFormation), so local runs and tests get the template's own
resources, IAM roles and policies; `hookline.local.moto_fixes` closes the gaps in moto that
hookline relies on (atomic conditional writes, resource-level IAM).

Nothing here is imported by the Lambda handlers; keep this package free of heavy imports
at package level.
"""
