#!/usr/bin/env node
// The exchange's own check of a redeemed approval, as a back end runs it
// before paying: reads Keyward's redeem response on stdin and verifies its
// evidence against the details the exchange asked for and the user's key
// chain pinned in a file. Trusts nothing Keyward says about itself. The
// same flags and verdicts as keyward-client's check_approval example:
//
//   curl … /v1/step-ups/$W/redeem | node clients/typescript/examples/check-approval.mjs \
//       --rp-id localhost --origin http://localhost:8080 --pins pins.json \
//       --user alice --action withdrawal --details '{"asset":"BTC",…}'
//
// Exit 0 and "PAY: …" when it verifies; exit 1 and "DO NOT PAY: …" otherwise.
// Needs the package built (npm run build in clients/typescript).

import { ChainRestartedError, FilePins, Verifier } from '@keyward/client';

async function run() {
  const args = process.argv.slice(2);
  const flags = { action: 'withdrawal' };
  const names = { '--rp-id': 'rpId', '--origin': 'origin', '--pins': 'pins', '--user': 'user', '--action': 'action', '--details': 'details' };
  while (args.length > 0) {
    const flag = args.shift();
    const value = args.shift();
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (!(flag in names)) throw new Error(`unknown flag ${flag}`);
    flags[names[flag]] = value;
  }
  for (const [flag, name] of Object.entries(names)) {
    if (flags[name] === undefined) throw new Error(`${flag} is required`);
  }
  let details;
  try {
    details = JSON.parse(flags.details);
  } catch (e) {
    throw new Error(`--details is not JSON: ${e.message}`);
  }
  let body = '';
  for await (const chunk of process.stdin) body += chunk;
  let redeemed;
  try {
    redeemed = JSON.parse(body);
  } catch (e) {
    throw new Error(`not a redeem response: ${e.message}`);
  }
  if (typeof redeemed !== 'object' || redeemed === null) throw new Error('not a redeem response');
  if (redeemed.evidence === undefined || redeemed.evidence === null) throw new Error('the redeem response carries no evidence');
  const verifier = new Verifier(flags.rpId, flags.origin, new FilePins(flags.pins));
  try {
    const v = await verifier.verify(flags.user, flags.action, details, redeemed.evidence);
    const id = Buffer.from(v.key.credentialId.subarray(0, 8)).toString('hex');
    return `${flags.user}'s key ${id} signed exactly these details; key chain followed to entry ${v.chain.seq} (head ${v.chain.head.slice(0, 16)})`;
  } catch (e) {
    if (e instanceof ChainRestartedError) {
      throw new Error("the user's key chain started again: confirm with the user before accepting it");
    }
    throw e;
  }
}

run().then(
  (line) => {
    console.log(`PAY: ${line}`);
    process.exit(0);
  },
  (e) => {
    console.log(`DO NOT PAY: ${e.message}`);
    process.exit(1);
  },
);
