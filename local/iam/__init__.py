"""IAM as AWS applies it, from the template: SigV4 signatures checked, each request classified into the
action and resources it asks for, the caller's role policies evaluated, and functions' resource policies."""
