idlink::lambda_main!(linking_info);
