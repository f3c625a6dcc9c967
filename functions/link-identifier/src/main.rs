idlink::lambda_main!(link_identifier);
