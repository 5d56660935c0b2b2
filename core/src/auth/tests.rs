use super::*;

const NOW: u64 = 1_700_000_000;

fn tokens(file: &str) -> StaticTokens {
    StaticTokens::new(parse_tokens_file(file).unwrap())
}

#[test]
fn bearer_token_parsing() {
    type Case<'a> = (Option<&'a [u8]>, Result<&'a str, AuthError>);
    let cases: &[Case<'_>] = &[
        (None, Err(AuthError::Missing)),
        (Some(b""), Err(AuthError::Missing)),
        (Some(b"   "), Err(AuthError::Missing)),
        (Some(b"Bearer abc"), Ok("abc")),
        (Some(b"bearer abc"), Ok("abc")),
        (Some(b"BEARER abc"), Ok("abc")),
        (Some(b"Bearer    abc"), Ok("abc")),
        (Some(b"Bearer\tabc"), Ok("abc")),
        (Some(b"  Bearer abc  "), Ok("abc")),
        (Some(b"Bearer a-b.c_d~e+f/g=="), Ok("a-b.c_d~e+f/g==")),
        (Some(b"Bearer eyJ.eyJ.sig"), Ok("eyJ.eyJ.sig")),
        (Some(b"Basic dXNlcjpwYXNz"), Err(AuthError::Missing)),
        (Some(b"Bearerabc"), Err(AuthError::Missing)),
        (Some(b"Bearer"), Err(AuthError::Invalid)),
        (Some(b"Bearer   "), Err(AuthError::Invalid)),
        (Some(b"Bearer abc def"), Err(AuthError::Invalid)),
        (Some(b"Bearer abc,def"), Err(AuthError::Invalid)),
        (Some(b"Bearer \"abc\""), Err(AuthError::Invalid)),
        (Some(b"Bearer ==="), Err(AuthError::Invalid)),
        (Some(b"Bearer a=b"), Err(AuthError::Invalid)),
        (Some(b"Bearer abc\x00"), Err(AuthError::Invalid)),
        (Some(b"Bearer ab\xffc"), Err(AuthError::Invalid)),
        (Some("Bearer t\u{f6}ken".as_bytes()), Err(AuthError::Invalid)),
    ];
    for (header, expected) in cases {
        assert_eq!(
            bearer_token(*header),
            *expected,
            "{:?}",
            header.map(String::from_utf8_lossy)
        );
    }
}

#[test]
fn static_tokens_accept_exactly_the_configured_tokens() {
    let set = tokens("ci:alpha-token-1\nbeta-token-2\nops:gamma\n");
    let ci = set.verify("alpha-token-1", NOW).unwrap();
    assert_eq!(ci.name, "ci");
    assert_eq!(ci.scopes, vec![ALL_SCOPES.to_string()]);
    assert_eq!(set.verify("beta-token-2", NOW).unwrap().name, "token-2");
    assert_eq!(set.verify("gamma", NOW).unwrap().name, "ops");
    for wrong in [
        "",
        "alpha",
        "alpha-token-",
        "alpha-token-1x",
        "alpha-token-12",
        "Alpha-token-1",
        "gamm",
        "gammaa",
    ] {
        assert_eq!(set.verify(wrong, NOW), Err(AuthError::Invalid), "{wrong}");
    }
    assert_eq!(
        StaticTokens::new(Vec::new()).verify("alpha-token-1", NOW),
        Err(AuthError::Invalid)
    );
}

#[test]
fn static_tokens_first_entry_wins_when_built_with_a_repeat() {
    let a = StaticToken::new(Some("first"), "same").unwrap();
    let b = StaticToken::new(Some("second"), "same").unwrap();
    assert_eq!(
        StaticTokens::new([a, b]).verify("same", NOW).unwrap().name,
        "first"
    );
}

#[test]
fn tokens_file_names_comments_and_blank_lines() {
    let file =
        "\u{feff}# comment\n\n  ci : tok-1  \r\n\t# indented comment\nbare_tok\n   \nlaptop@alice:tok/3==\n";
    let parsed = parse_tokens_file(file).unwrap();
    let names: Vec<_> = parsed.iter().map(StaticToken::name).collect();
    assert_eq!(names, [Some("ci"), None, Some("laptop@alice")]);
    let set = StaticTokens::new(parsed);
    assert_eq!(set.len(), 3);
    assert_eq!(set.verify("tok-1", NOW).unwrap().name, "ci");
    assert_eq!(set.verify("bare_tok", NOW).unwrap().name, "token-2");
    assert_eq!(set.verify("tok/3==", NOW).unwrap().name, "laptop@alice");
}

#[test]
fn tokens_file_errors_name_the_line_and_never_the_token() {
    let cases = [
        ("ok-token\nname:has space-secret\n", 2, TokenProblem::TokenCharset),
        ("# c\n\nname:\n", 3, TokenProblem::EmptyToken),
        (":secret-value\n", 1, TokenProblem::EmptyName),
        ("bad name:secret-value\n", 1, TokenProblem::NameCharset),
        ("a:b:secret-value\n", 1, TokenProblem::TokenCharset),
        ("secret\"value\n", 1, TokenProblem::TokenCharset),
    ];
    for (file, line, problem) in cases {
        let err = parse_tokens_file(file).unwrap_err();
        assert_eq!(
            err,
            AuthConfigError::Token {
                at: TokenPlace::Line(line),
                problem
            },
            "{file:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(text.contains(&format!("line {line}")), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
    let long = format!("{}:secret-value", "n".repeat(200));
    assert!(matches!(
        parse_tokens_file(&long),
        Err(AuthConfigError::Token {
            problem: TokenProblem::NameTooLong { max: 128 },
            ..
        })
    ));
}

#[test]
fn tokens_file_refuses_repeats_and_emptiness() {
    let err = parse_tokens_file("a:secret-one\n\nb:secret-one\n").unwrap_err();
    assert_eq!(
        err,
        AuthConfigError::DuplicateToken {
            at: TokenPlace::Line(3),
            first: TokenPlace::Line(1)
        }
    );
    assert!(!err.to_string().contains("secret"));
    assert_eq!(parse_tokens_file("").unwrap_err(), AuthConfigError::NoTokens);
    assert_eq!(
        parse_tokens_file("# only a comment\n\n").unwrap_err(),
        AuthConfigError::NoTokens
    );
}

#[test]
fn token_list_entries() {
    let parsed = parse_token_list(" one , ci:two,, three ").unwrap();
    let set = StaticTokens::new(parsed);
    assert_eq!(set.verify("one", NOW).unwrap().name, "token-1");
    assert_eq!(set.verify("two", NOW).unwrap().name, "ci");
    assert_eq!(set.verify("three", NOW).unwrap().name, "token-3");
    let err = parse_token_list("one,two words").unwrap_err();
    assert_eq!(
        err.to_string(),
        "AUTH_TOKENS entry 2: the token may hold only ASCII letters, digits, - . _ ~ + / and trailing ="
    );
    assert_eq!(parse_token_list(" , ").unwrap_err(), AuthConfigError::NoTokens);
}

#[test]
fn debug_output_never_shows_a_token() {
    let token = StaticToken::new(Some("ci"), "hunter2-secret").unwrap();
    let set = StaticTokens::new([token.clone(), StaticToken::new(None, "other-secret").unwrap()]);
    for text in [format!("{token:?}"), format!("{set:?}"), format!("{set:#?}")] {
        assert!(!text.contains("secret"), "{text}");
    }
    assert!(format!("{set:?}").contains("token-2"));
    let err = set.verify("hunter2-secret-wrong", NOW).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret"));
    let rpc = err.rpc_error();
    assert!(!format!("{rpc:?}").contains("secret"));
}

#[test]
fn unauthorized_challenges() {
    let meta = Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
    assert_eq!(www_authenticate(&AuthError::Missing, None), "Bearer");
    assert_eq!(
        www_authenticate(&AuthError::Missing, meta),
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    assert_eq!(
        www_authenticate(&AuthError::Expired, None),
        "Bearer error=\"invalid_token\", error_description=\"the token has expired\""
    );
    assert_eq!(
        www_authenticate(&AuthError::Invalid, meta),
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", \
         error=\"invalid_token\", error_description=\"invalid token\""
    );
    assert_eq!(
        www_authenticate(&AuthError::Missing, Some("https://x/\"a\\b\r\nSet-Cookie: y")),
        "Bearer resource_metadata=\"https://x/\\\"a\\\\bSet-Cookie: y\""
    );
}

#[test]
fn insufficient_scope_challenge() {
    assert_eq!(
        insufficient_scope("tools:call", None),
        "Bearer error=\"insufficient_scope\", scope=\"tools:call\""
    );
    assert_eq!(
        insufficient_scope(
            "tools:call",
            Some("https://a.example/.well-known/oauth-protected-resource")
        ),
        "Bearer error=\"insufficient_scope\", scope=\"tools:call\", \
         resource_metadata=\"https://a.example/.well-known/oauth-protected-resource\""
    );
}

#[test]
fn rpc_error_is_e_auth() {
    let missing = AuthError::Missing.rpc_error();
    assert_eq!(
        missing.to_json(false),
        serde_json::json!({"code": -32005, "message": "Missing bearer token"})
    );
    let expired = AuthError::Expired.rpc_error();
    assert_eq!(
        expired.to_json(true),
        serde_json::json!({"code": -32005, "message": "Invalid bearer token", "data": "the token has expired"})
    );
}

#[test]
fn scopes() {
    let alice = Principal {
        name: "alice".into(),
        scopes: vec!["tools:read".into(), "tools:call".into()],
    };
    assert!(has_scope(&alice, "tools:call"));
    assert!(!has_scope(&alice, "admin"));
    assert!(!has_scope(&alice, "tools"));
    let root = tokens("root:t0k\n").verify("t0k", NOW).unwrap();
    assert!(has_scope(&root, "admin"));
}

#[test]
fn resource_metadata_document() {
    let meta = ResourceMetadata {
        resource: "https://mcp.example.com/mcp".into(),
        authorization_servers: vec!["https://auth.example.com".into()],
        scopes_supported: vec!["tools:read".into(), "tools:call".into()],
    };
    assert_eq!(
        meta.to_json(),
        serde_json::json!({
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": ["https://auth.example.com"],
            "scopes_supported": ["tools:read", "tools:call"],
            "bearer_methods_supported": ["header"],
        })
    );
    assert_eq!(
        meta.well_known_path().unwrap(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(
        meta.metadata_url().unwrap(),
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );
    let bare = ResourceMetadata {
        resource: "http://127.0.0.1:23450".into(),
        authorization_servers: Vec::new(),
        scopes_supported: Vec::new(),
    };
    assert_eq!(
        bare.to_json(),
        serde_json::json!({"resource": "http://127.0.0.1:23450", "bearer_methods_supported": ["header"]})
    );
    assert_eq!(
        bare.metadata_url().unwrap(),
        "http://127.0.0.1:23450/.well-known/oauth-protected-resource"
    );
}

#[test]
fn resource_metadata_urls() {
    let url = |resource: &str| {
        ResourceMetadata {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
        }
        .metadata_url()
    };
    assert_eq!(
        url("https://a.example/").unwrap(),
        "https://a.example/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        url("https://a.example/x/mcp/").unwrap(),
        "https://a.example/.well-known/oauth-protected-resource/x/mcp/"
    );
    assert_eq!(
        url("https://a.example:8443/mcp?tenant=1").unwrap(),
        "https://a.example:8443/.well-known/oauth-protected-resource/mcp?tenant=1"
    );
    assert_eq!(
        url("https://a.example/?tenant=1").unwrap(),
        "https://a.example/.well-known/oauth-protected-resource?tenant=1"
    );
    for bad in [
        "",
        "a.example/mcp",
        "ftp://a.example/",
        "https:///mcp",
        "https://a.example/mcp#f",
        "https://a b/",
    ] {
        assert!(
            matches!(url(bad), Err(AuthConfigError::ResourceUrl { .. })),
            "{bad}"
        );
    }
}
