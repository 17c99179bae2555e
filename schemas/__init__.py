"""marshmallow schemas: what each endpoint accepts (…Args, …In) and returns (…Out, …Row)."""
