idlink::lambda_main!(get_me);
