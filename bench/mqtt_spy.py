"""A subscriber in its own process for bench/vtn_bench.py: counts the notices a VTN publishes through the
broker. Prints ``READY`` once subscribed, then ``DONE <time.monotonic()> <count>`` when ``expect`` messages
arrived (or ``TIMEOUT <count>`` after ``--timeout`` seconds without reaching it).

Usage: python bench/mqtt_spy.py HOST PORT TOPIC_FILTER EXPECT [--timeout 120]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiomqtt


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("topic")
    parser.add_argument("expect", type=int)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    count = 0
    async with aiomqtt.Client(args.host, args.port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(args.topic, qos=1)
        print("READY", flush=True)
        try:
            async with asyncio.timeout(args.timeout):
                async for _message in client.messages:
                    count += 1
                    if count >= args.expect:
                        print(f"DONE {time.monotonic()} {count}", flush=True)
                        return
        except TimeoutError:
            print(f"TIMEOUT {count}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
