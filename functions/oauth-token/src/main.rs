idlink::lambda_main!(oauth_token);
