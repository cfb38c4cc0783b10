"""Reading the synthesized deployment (`cdk.out/`): the resources local mode emulates, resolved to local
names and ARNs, and synthesizing it again when its sources changed."""
