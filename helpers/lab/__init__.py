"""The experiment tooling: sweeps, the staged protocol, the README writer, the benchmark, the GPU kit and the
prototype scripts. It may import the method (`helpers`), never the other way round."""
