"""The counselor's client: runs on a counselor's (or admin's) own machine and holds their key.

The server never sees a private key: identities are made here, stored wrapped
under the person's passphrase, and case content is opened here.
"""
