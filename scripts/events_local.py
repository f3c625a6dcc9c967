#!/usr/bin/env python3
"""Change events locally, the way AWS wires them (template.yaml), on moto's one port.

  events_local.py setup ENDPOINT TABLE BUS CREDENTIALS_JSON
      Creates the bus, an SQS queue and a rule (source idlink) from the bus to the queue, and
      writes the queue's URL into CREDENTIALS_JSON as `events_queue_url`.
  events_local.py feed ENDPOINT TABLE INVOKE_URL
      Does what Lambda's event source mapping does: reads the table's stream (every shard, from
      its start) and sends each batch of audit-record inserts to the events function at
      INVOKE_URL; a batch it answers with `batchItemFailures` is sent again from the failed
      record, after a pause. Runs until killed.
"""
import json
import sys
import time
import urllib.request

import boto3

REGION = "us-east-1"
POLL_SECONDS = 0.5
BATCH_SIZE = 100


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def setup(endpoint, table, bus, credentials):
    events, sqs = client("events", endpoint), client("sqs", endpoint)
    try:
        events.create_event_bus(Name=bus)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    queue_url = sqs.create_queue(QueueName=f"{bus}-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=f"{bus}-all", EventBusName=bus, EventPattern=json.dumps({"source": ["idlink"]}))
    events.put_targets(
        Rule=f"{bus}-all", EventBusName=bus, Targets=[{"Id": "local-queue", "Arn": queue_arn}]
    )
    with open(credentials) as f:
        creds = json.load(f)
    creds["events_queue_url"] = queue_url
    with open(credentials, "w") as f:
        json.dump(creds, f, indent=2)
    print(f"events: bus {bus} -> queue {queue_url}", file=sys.stderr)


def lambda_record(record):
    """A DynamoDB Streams record as Lambda delivers it (times as epoch seconds)."""
    record = dict(record)
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    record["dynamodb"] = dynamodb
    return record


def is_audit_insert(record):
    """The event source mapping's filter in template.yaml."""
    pk = record["dynamodb"].get("Keys", {}).get("PK", {}).get("S", "")
    return record["eventName"] == "INSERT" and pk.startswith("LOG#")


def invoke(url, records):
    body = json.dumps({"Records": records}).encode()
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.loads(resp.read() or b"{}")


def feed(endpoint, table, invoke_url):
    dynamodb, streams = client("dynamodb", endpoint), client("dynamodbstreams", endpoint)
    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    iterators = {}
    while True:
        read_any = False
        for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            if sid not in iterators:
                iterators[sid] = streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        for sid, iterator in list(iterators.items()):
            if iterator is None:
                continue
            out = streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
            read_any = read_any or bool(out["Records"])
            batch = [lambda_record(r) for r in out["Records"] if is_audit_insert(r)]
            if batch:
                try:
                    answer = invoke(invoke_url, batch)
                except OSError as e:  # the function is still compiling, or crashed: try again
                    print(f"events: invoke failed ({e}); retrying", file=sys.stderr)
                    time.sleep(2)
                    continue
                failures = answer.get("batchItemFailures") or []
                if failures:
                    # Lambda retries from the failed record: read again from there.
                    iterators[sid] = streams.get_shard_iterator(
                        StreamArn=stream_arn,
                        ShardId=sid,
                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                        SequenceNumber=failures[0]["itemIdentifier"],
                    )["ShardIterator"]
                    time.sleep(2)
                    continue
            iterators[sid] = out.get("NextShardIterator")
        # A backlog (a busy test run) is read without pausing; an idle stream is polled.
        if not read_any:
            time.sleep(POLL_SECONDS)


def main(argv):
    if len(argv) == 5 and argv[0] == "setup":
        setup(*argv[1:])
    elif len(argv) == 4 and argv[0] == "feed":
        feed(*argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
