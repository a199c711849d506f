"""The secure processing environment: workspaces, engines, query gate, job sandbox, airlock.

Protected data never leaves it. Each permit gets a workspace holding only what the permit
allows, prepared and pseudonymised by the trusted third party and encrypted with a key the
TTP holds. Members query it through the gate or run scripts in the sandbox; only outputs
that pass the disclosure rules and two output checkers leave, through the airlock.
"""
