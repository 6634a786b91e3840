"""The programme's indicators: counts from coded fields only, published under disclosure
control (docs/indicators.md)."""
