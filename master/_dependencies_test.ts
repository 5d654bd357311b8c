import { deepStrictEqual as eq, throws } from "node:assert/strict";
import {
  type DependencyNode,
  dependentsOf,
  findCycle,
  startLevels,
  stopLevels,
} from "./_dependencies.ts";

const n = (name: string, ...dependsOn: string[]): DependencyNode => ({ name, dependsOn });

Deno.test("findCycle() finds cycles, starting at the earliest group in config order", () => {
  const cases: [DependencyNode[], string[] | undefined][] = [
    [[n("a"), n("b", "a")], undefined],
    [[n("a", "a")], ["a", "a"]],
    [[n("x"), n("consumer", "feeder"), n("feeder", "consumer")], [
      "consumer",
      "feeder",
      "consumer",
    ]],
    [[n("a", "b"), n("b", "c"), n("c", "a")], ["a", "b", "c", "a"]],
    [[n("c", "a"), n("b", "c"), n("a", "b")], ["c", "a", "b", "c"]],
    // a diamond is no cycle
    [[n("top", "l", "r"), n("l", "base"), n("r", "base"), n("base")], undefined],
    // unknown names are the validator's other issue, not a cycle
    [[n("a", "ghost")], undefined],
    // the cycle is found behind a node that is not in it
    [[n("head", "a"), n("a", "b"), n("b", "a")], ["a", "b", "a"]],
  ];
  for (const [nodes, cycle] of cases) eq(findCycle(nodes), cycle, JSON.stringify(nodes));
});

Deno.test("startLevels() puts each group one level after its deepest dependency", () => {
  eq(startLevels([n("a"), n("b")]), [["a", "b"]]);
  eq(startLevels([n("consumer", "feeder"), n("feeder"), n("x")]), [["feeder", "x"], [
    "consumer",
  ]]);
  eq(
    startLevels([n("top", "l", "r"), n("l", "base"), n("r", "base"), n("base")]),
    [["base"], ["l", "r"], ["top"]],
  );
  eq(startLevels([n("a", "gone")]), [["a"]]);
  throws(() => startLevels([n("a", "b"), n("b", "a")]), /dependsOn: cycle a → b → a/);
});

Deno.test("stopLevels() stops dependents before what they depend on", () => {
  eq(stopLevels([n("consumer", "feeder"), n("feeder"), n("x")]), [["consumer"], ["feeder", "x"]]);
});

Deno.test("dependentsOf() follows dependencies transitively", () => {
  const nodes = [n("a"), n("b", "a"), n("c", "b"), n("d"), n("e", "d", "c")];
  eq(dependentsOf(nodes, "a"), ["b", "c", "e"]);
  eq(dependentsOf(nodes, "d"), ["e"]);
  eq(dependentsOf(nodes, "e"), []);
});
