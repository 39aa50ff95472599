export * from "../../bench/specs.js";
