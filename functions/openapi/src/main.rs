idlink::lambda_main!(openapi);
