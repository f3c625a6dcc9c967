"""Change events through `make run`'s local wiring: a change on the stack reaches the SQS queue
named `events_queue_url` in the credentials file (table stream -> events function -> bus ->
rule -> queue), as a studio's consumer would read it with boto3."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from conftest import Idlink, http_json

DEADLINE_SECONDS = 60


@pytest.fixture(scope="module")
def queue(creds: dict):
    url = creds.get("events_queue_url")
    if not url:
        pytest.fail("credentials lack events_queue_url: make run did not set up change events")
    sqs = boto3.client(
        "sqs",
        endpoint_url=url.rsplit("/", 2)[0],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return sqs, url


def wait_for(queue, predicate) -> dict:
    """The first event on the queue that `predicate` accepts (others are left for later)."""
    sqs, url = queue
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in out.get("Messages", []):
            event = json.loads(m["Body"])
            if predicate(event):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                return event
    pytest.fail(f"no matching event on {url} within {DEADLINE_SECONDS} s")


def test_a_first_login_and_a_merge_arrive_as_events(queue, idlink: Idlink, base_url: str, creds: dict):
    primary = idlink.login()
    secondary = idlink.login()

    created = wait_for(
        queue, lambda e: e["detail-type"] == "user.created" and e["detail"]["user_id"] == primary.user_id
    )
    status, _, body = http_json(
        "POST",
        f"{base_url}/api/v2/users/{primary.user_id}/identities",
        headers={"authorization": f"Bearer {idlink.server_token()}", "content-type": "application/json"},
        body=json.dumps({"provider": "server_custom_id", "user_id": secondary.custom_id}).encode(),
    )
    assert status == 201, body
    merged = wait_for(
        queue, lambda e: e["detail-type"] == "user.merged" and e["detail"]["user_id"] == primary.user_id
    )

    assert created["source"] == "idlink"
    assert created["detail"]["project_id"] == creds["project_id"]
    assert merged["detail"]["secondary_user_id"] == secondary.user_id
    assert merged["detail"]["moved_identities"] == [
        {"provider": "server_custom_id", "user_id": secondary.custom_id, "connection": "server_custom_id", "isSocial": False}
    ]
