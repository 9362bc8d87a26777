#!/usr/bin/env bash
# `npm test`: lint and format check, the unit suite, then the reliability suite. Each step runs even
# when an earlier one failed, so one red suite never hides another's result; any failure fails the run.
status=0
npx biome ci . || status=1
npx vitest run || status=1
npx vitest run --config vitest.reliability.config.ts || status=1
exit "$status"
