"""Channels: each turns a platform's events into IncomingMessage and renders TurnResult.

A channel knows nothing of Rasa, content or storage; it only talks to the core.
"""
