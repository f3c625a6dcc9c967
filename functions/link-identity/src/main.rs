idlink::lambda_main!(link_identity);
