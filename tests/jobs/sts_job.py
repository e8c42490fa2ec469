"""A long-running job as people write them: ``static`` assumes a role once and builds its own
boto3.Session from the keys (the pattern behind boto/boto3#443); ``profile`` uses a role profile
that botocore refreshes.  Calls GetCallerIdentity CALLS times against AWS_ENDPOINT_URL_STS."""

import os
import sys

import boto3

mode, calls = sys.argv[1], int(sys.argv[2])
if mode == "static":
    base = boto3.client("sts", region_name="us-east-1")
    creds = base.assume_role(RoleArn="arn:aws:iam::123456789012:role/job", RoleSessionName="job")["Credentials"]
    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
else:
    session = boto3.Session(profile_name="job", region_name="us-east-1")
sts = session.client("sts")
for i in range(calls):
    sts.get_caller_identity()
    if os.environ.get("JOB_FORK") and i == 0 and os.fork() == 0:
        try:
            sts.get_caller_identity()  # the child keeps using the parent's client
        finally:
            os._exit(0)
print(f"done {calls} calls")
