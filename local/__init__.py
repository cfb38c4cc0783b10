"""Local mode: the synthesized deployment run on a laptop, with what stands in for AWS. template/ reads
`cdk.out/`; iam/ enforces its roles and policies; runtime/ runs the handlers; aws/ serves moto's AWS
side; gateway/ is API Gateway (and the client's host); faults/ and console/ serve the tests and the
person at the terminal; cli/ wires it all (`python -m local run`) and finds it again."""
