idlink::lambda_main!(jwks);
