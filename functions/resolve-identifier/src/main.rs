idlink::lambda_main!(resolve_identifier);
