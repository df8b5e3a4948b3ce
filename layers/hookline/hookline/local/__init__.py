"""The local runtime behind `hookline dev` and the integration tests.

`hookline.local.cfn` reads template.yaml (CloudFormation short-form tags included) and
provisions its tables, queues, bucket and topic against any AWS endpoint (moto in
practice), so local runs and tests use the template's own resource properties.

Nothing here is imported by the Lambda handlers; keep this package free of heavy imports
at package level.
"""
