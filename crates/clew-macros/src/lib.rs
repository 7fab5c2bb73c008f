//! `#[clew::trace]`: record a function call as a span, like MLflow's `@mlflow.trace`.
//!
//! Use it through the `clew` crate (`#[clew::trace]`); the runnable examples are on the
//! `clew::trace` re-export. In short:
//!
//! ```text
//! #[clew::trace]                                   // span "add", type UNKNOWN
//! fn add(a: i32, b: i32) -> i32 { a + b }
//!
//! #[clew::trace(name = "search", span_type = "RETRIEVER", skip(client),
//!               attributes(top_k = 5, "index.name" = "docs"))]
//! async fn retrieve(client: &Client, query: &str) -> Result<Vec<Document>, Error> { ... }
//! ```
//!
//! Options (all optional, comma separated, each at most once):
//!
//! | option | meaning |
//! | --- | --- |
//! | `name = "…"` | span name (a string literal); default: the function's name |
//! | `span_type = …` | a string literal (`"RETRIEVER"`, or any custom type) or an expression that converts into `clew::SpanType` (`SpanType::Retriever`) |
//! | `attributes(key = value, "dotted.key" = value, a.b = value)` | attributes set when the span starts; a value is any `Serialize` expression, evaluated only when the span is recorded, and may read the arguments (it is taken by reference) |
//! | `skip(arg, …)` | arguments left out of the inputs |
//! | `skip_all` | record no inputs |
//! | `crate = path` | where the `clew` crate is, if it was renamed (default `::clew`) |
//!
//! What the span records:
//!
//! * name: `name` or the function name; `mlflow.spanFunctionName`: the function name.
//! * inputs: the JSON object `{"arg": value, …}` of the arguments in order, without `self`
//!   and skipped ones; an argument that is a pattern (`(a, b): (i32, i32)`) contributes the
//!   variables it binds (`"a"`, `"b"`). Each value is serialised with `serde::Serialize` if its
//!   type implements it, else as its `Debug` text, else as `"<unserializable: Type>"`: any
//!   argument type compiles. Inputs are taken by reference before the body runs.
//! * outputs: the return value, the same way. `()` and `None` give `null`. For a return type
//!   spelled `…Result<…>` (`Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`, `fmt::Result`): `Ok(v)` gives
//!   outputs `v`; `Err(e)` is recorded as an exception (event `exception` with the error's
//!   type, its `Display` — or `Debug` — message, and its `source()` chain as the stack trace;
//!   status ERROR `"Type: message"`), outputs stay unset, and the `Err` is returned unchanged.
//! * a panic is recorded as an exception `panic` with the panic message (status ERROR), then
//!   resumes.
//!
//! Sync functions: the span is current while the body runs; `return` and `?` inside the
//! body are captured (the body runs in a closure).
//!
//! Async functions stay `async fn`. The span starts when the future is first polled, as a
//! child of the span current then (for `traced().await` that is the caller's span), and is
//! current at every poll of the body, across `.await`s and threads. If the future is dropped
//! before it completes (cancelled: `select!`, a timeout), the span ends with an exception
//! `Cancelled` and status ERROR, as MLflow records Python's `CancelledError`. A future dropped
//! before its first poll records nothing. The future is `Send` when the body's is.
//!
//! With tracing disabled the function runs unchanged: no allocation, no serialisation.
//!
//! A function whose whole body is `Box::pin(async move { … })` and that returns
//! `Pin<Box<dyn Future<Output = T> …>>` — what `#[async_trait]` makes of an `async fn`, so
//! `#[clew::trace]` works inside `#[async_trait]` impls — is traced like an `async fn`: the
//! inputs are taken when it is called, and the span covers the future's run.
//!
//! Limitations: another function returning a future (`impl Future`, a hand-written future) is
//! traced as a sync function, so the span covers only creating the future; streams and
//! iterators are not traced item by item (MLflow's generator support); `const fn` cannot be
//! traced; a return type whose last path segment is `Result<…>` or `Option<…>` must be the
//! standard type (a different type of that name fails to compile); MLflow's
//! `trace_destination`, `sampling_ratio_override` and `output_reducer` have no equivalent.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{AttrStyle, Expr, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Token, Type};

#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item2 = TokenStream2::from(item.clone());
    let result = syn::parse::<Options>(attr).and_then(|options| expand(options, item2.clone()));
    match result {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            // Keep the item so one mistake in the options does not cascade into "not found" errors.
            let mut tokens = error.to_compile_error();
            tokens.extend(item2);
            tokens.into()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    span_type: Option<Expr>,
    attributes: Vec<(String, Expr)>,
    skip: Vec<Ident>,
    skip_all: bool,
    krate: Option<syn::Path>,
}

const OPTIONS_HELP: &str =
    "expected `name = \"...\"`, `span_type = ...`, `attributes(key = value, ...)`, `skip(arg, ...)`, `skip_all` or `crate = path`";

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key = Ident::parse_any(input)
                .map_err(|e| syn::Error::new(e.span(), format!("expected an option: {OPTIONS_HELP}")))?;
            let key_name = key.to_string();
            if seen.contains(&key_name) {
                return Err(syn::Error::new(key.span(), format!("duplicate option `{key_name}`")));
            }
            seen.push(key_name.clone());
            match key_name.as_str() {
                "name" => {
                    input.parse::<Token![=]>()?;
                    let value: Expr = input.parse()?;
                    match value {
                        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => options.name = Some(lit),
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "`name` must be a string literal, e.g. `name = \"my_span\"`",
                            ))
                        }
                    }
                }
                "span_type" => {
                    input.parse::<Token![=]>()?;
                    options.span_type = Some(input.parse()?);
                }
                "attributes" => {
                    if input.peek(Token![=]) {
                        return Err(syn::Error::new(
                            input.span(),
                            "write attributes as `attributes(key = value, \"dotted.key\" = value)`",
                        ));
                    }
                    let content;
                    syn::parenthesized!(content in input);
                    let entries = Punctuated::<AttributeEntry, Token![,]>::parse_terminated(&content)?;
                    options.attributes = entries.into_iter().map(|e| (e.key, e.value)).collect();
                }
                "skip" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
                    options.skip = names.into_iter().collect();
                }
                "skip_all" => options.skip_all = true,
                "crate" => {
                    input.parse::<Token![=]>()?;
                    options.krate = Some(if input.peek(LitStr) {
                        input.parse::<LitStr>()?.parse()?
                    } else {
                        syn::Path::parse_mod_style(input)?
                    });
                }
                _ => {
                    return Err(syn::Error::new(key.span(), format!("unknown option `{key_name}`; {OPTIONS_HELP}")));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(options)
    }
}

/// `key = value` where key is `ident`, `a.b.c` or `"any string"`.
struct AttributeEntry {
    key: String,
    value: Expr,
}

impl Parse for AttributeEntry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            input.parse::<LitStr>()?.value()
        } else if input.peek(Ident::peek_any) {
            let mut key = Ident::parse_any(input)?.unraw().to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                key.push('.');
                key.push_str(&Ident::parse_any(input)?.unraw().to_string());
            }
            key
        } else {
            return Err(input.error("expected an attribute key: an identifier or a string literal"));
        };
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(AttributeEntry { key, value })
    }
}

// ---------------------------------------------------------------------------------------------
// Expansion

/// How the return value becomes outputs, chosen from the return type's spelling.
enum ReturnShape {
    /// `()` or no return type: outputs null.
    Unit,
    /// `!`: the body never returns; no closure, no outputs.
    Never,
    /// `…Result<…>`: `Ok` → outputs, `Err` → exception.
    Result,
    /// `…Option<…>`: `None` → null.
    Option,
    Value,
}

fn item_kind(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Union(_) => "a union",
        syn::Item::Impl(_) => "an impl block (put it on the methods)",
        syn::Item::Trait(_) => "a trait (put it on the methods that have a body)",
        syn::Item::Mod(_) => "a module",
        syn::Item::Const(_) => "a const",
        syn::Item::Static(_) => "a static",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Use(_) => "a use declaration",
        syn::Item::ForeignMod(_) => "an extern block",
        syn::Item::Macro(_) => "a macro",
        _ => "this item",
    }
}

fn expand(options: Options, item: TokenStream2) -> syn::Result<TokenStream2> {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
                return Err(syn::Error::new(
                    decl.sig.ident.span(),
                    "#[clew::trace] needs a function body; put it on the implementations instead",
                ));
            }
            let kind = syn::parse2::<syn::Item>(item).map(|i| item_kind(&i)).unwrap_or("this item");
            return Err(syn::Error::new(
                Span::call_site(),
                format!("#[clew::trace] can only be applied to functions, not {kind}"),
            ));
        }
    };
    let ItemFn { attrs, vis, sig, block } = function;
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(constness.span, "#[clew::trace] cannot be applied to a `const fn`"));
    }

    let krate = options.krate.as_ref().map(|p| p.to_token_stream()).unwrap_or_else(|| quote!(::clew));
    let fn_name = sig.ident.unraw().to_string();
    let span_name = options.name.as_ref().map(LitStr::value).unwrap_or_else(|| fn_name.clone());

    // Inputs: every variable the parameters bind, in order, minus `self` and skipped ones.
    let mut bound: Vec<Ident> = Vec::new();
    for arg in &sig.inputs {
        if let FnArg::Typed(pat_type) = arg {
            collect_bindings(&pat_type.pat, &mut bound);
        }
    }
    for skipped in &options.skip {
        if skipped != "self" && !bound.iter().any(|b| b.unraw() == skipped.unraw()) {
            return Err(syn::Error::new(skipped.span(), format!("`{skipped}` is not an argument of `{fn_name}`")));
        }
    }
    let recorded: Vec<&Ident> = if options.skip_all {
        Vec::new()
    } else {
        bound.iter().filter(|b| !options.skip.iter().any(|s| s.unraw() == b.unraw())).collect()
    };

    let shape = return_shape(&sig.output);
    let mixed = Span::mixed_site();
    let span_var = Ident::new("__clew_span", mixed);
    let result_var = Ident::new("__clew_result", mixed);
    let guard_var = Ident::new("__clew_guard", mixed);

    // Span setup, run only when the span is recorded.
    let span_type = options.span_type.as_ref().map(|t| quote_spanned!(t.span()=> #span_var.set_span_type(#t);));
    let attributes = options
        .attributes
        .iter()
        .map(|(key, value)| quote_spanned!(value.span()=> #span_var.set_attribute(#key, &(#value));));
    // The inputs object as a `String` expression.
    let inputs_json = {
        let inputs_var = Ident::new("__clew_inputs", mixed);
        let members = recorded.iter().map(|ident| {
            let key_json = format!("\"{}\"", ident.unraw());
            quote! {
                (&&&#krate::__private::Wrap(&#ident)).__clew_json(#inputs_var.key(#key_json));
            }
        });
        quote! {{
            #[allow(unused_imports)]
            use #krate::__private::{ViaDebug as _, ViaPlaceholder as _, ViaSerialize as _};
            let mut #inputs_var = #krate::__private::InputsJson::new();
            #(#members)*
            #inputs_var.finish()
        }}
    };
    // A boxed future (`#[async_trait]`): inputs are taken when the function is called, since
    // the arguments move into the future; the span starts at its first poll.
    let boxed = if sig.asyncness.is_none() { boxed_async_body(&block, &sig.output) } else { None };
    let pending_inputs = Ident::new("__clew_pending_inputs", mixed);
    let inputs = if options.skip_all {
        quote!()
    } else if boxed.is_some() {
        quote! {
            if let ::core::option::Option::Some(#pending_inputs) = #pending_inputs {
                #span_var.set_inputs_json(#pending_inputs);
            }
        }
    } else {
        quote!(#span_var.set_inputs_json(#inputs_json);)
    };
    let setup = quote! {
        #span_var.set_function_name(#fn_name);
        #span_type
        #(#attributes)*
        #inputs
    };

    let outputs = outputs_code(&krate, &shape, &span_var, &result_var);

    let (outer_attrs, inner_attrs): (Vec<_>, Vec<_>) =
        attrs.into_iter().partition(|a| matches!(a.style, AttrStyle::Outer));
    let stmts = &block.stmts;
    let fake_return = fake_return(&sig.output, &shape);

    let body = if let Some(boxed) = boxed {
        let BoxedAsync { pin_fn, mut future, output } = boxed;
        let shape = return_shape(&output);
        let outputs = outputs_code(&krate, &shape, &span_var, &result_var);
        let inner_fake_return = crate::fake_return(&output, &shape);
        if !inner_fake_return.is_empty() {
            future.block.stmts.insert(0, syn::parse2(inner_fake_return)?);
        }
        let take_inputs = if options.skip_all {
            quote!()
        } else {
            quote! {
                let #pending_inputs: ::core::option::Option<::std::string::String> =
                    if #krate::is_enabled() { ::core::option::Option::Some(#inputs_json) } else { ::core::option::Option::None };
            }
        };
        let run = run_async(&krate, &span_name, &setup, future.into_token_stream(), &outputs);
        quote! {
            #take_inputs
            #pin_fn(async move { #run })
        }
    } else if sig.asyncness.is_some() {
        let future = quote! {
            async move {
                #fake_return
                #(#stmts)*
            }
        };
        run_async(&krate, &span_name, &setup, future, &outputs)
    } else if let ReturnShape::Never = shape {
        quote! {
            let #guard_var = #krate::__private::start_span(#span_name);
            {
                let #span_var: &#krate::LiveSpan = &#guard_var;
                if #span_var.is_recording() {
                    #setup
                }
            }
            #(#stmts)*
        }
    } else {
        quote! {
            let #guard_var = #krate::__private::start_span(#span_name);
            let #span_var: &#krate::LiveSpan = &#guard_var;
            if #span_var.is_recording() {
                #setup
            }
            let #result_var = #krate::__private::call_once(#span_var, move || {
                #fake_return
                #(#stmts)*
            });
            if #span_var.is_recording() {
                #outputs
            }
            #result_var
        }
    };

    Ok(quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    })
}

/// The body of a traced future: starts the span (at first poll, so the parent is the span
/// current then), runs `future` with the span current at every poll, records the outputs,
/// and ends the span — as cancelled if dropped before completion.
fn run_async(
    krate: &TokenStream2,
    span_name: &str,
    setup: &TokenStream2,
    future: TokenStream2,
    outputs: &TokenStream2,
) -> TokenStream2 {
    let mixed = Span::mixed_site();
    let span_var = Ident::new("__clew_span", mixed);
    let result_var = Ident::new("__clew_result", mixed);
    let guard_var = Ident::new("__clew_guard", mixed);
    quote! {
        let #span_var = #krate::__private::start_detached(#span_name);
        if #span_var.is_recording() {
            #setup
        }
        let mut #guard_var = #krate::__private::AsyncSpanGuard::new(#span_var);
        let #result_var = #krate::__private::Instrumented::new(#future, #guard_var.span()).await;
        #guard_var.complete();
        {
            let #span_var: &#krate::LiveSpan = #guard_var.span();
            if #span_var.is_recording() {
                #outputs
            }
        }
        #result_var
    }
}

/// A body that is only `Box::pin(async move { … })` in a function returning
/// `Pin<Box<dyn Future<Output = T> …>>`: what `#[async_trait]` makes of an `async fn`.
struct BoxedAsync {
    pin_fn: syn::ExprPath,
    future: syn::ExprAsync,
    output: ReturnType,
}

fn boxed_async_body(block: &syn::Block, output: &ReturnType) -> Option<BoxedAsync> {
    let ReturnType::Type(arrow, ty) = output else { return None };
    let output_ty = future_output_type(ty)?;
    let [syn::Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else { return None };
    let Expr::Path(pin_fn) = &*call.func else { return None };
    let names: Vec<String> = pin_fn.path.segments.iter().map(|s| s.ident.to_string()).collect();
    if !names.ends_with(&["Box".to_string(), "pin".to_string()]) || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(future)) = call.args.first() else { return None };
    future.capture?;
    Some(BoxedAsync {
        pin_fn: pin_fn.clone(),
        future: future.clone(),
        output: ReturnType::Type(*arrow, Box::new(output_ty.clone())),
    })
}

/// The first type argument of a type whose last path segment is `name`: `Box<T>` → `T`.
fn first_type_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = strip_groups(ty) else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

/// `T` in `Pin<Box<dyn Future<Output = T> + …>>`.
fn future_output_type(ty: &Type) -> Option<&Type> {
    let object = first_type_arg(first_type_arg(ty, "Pin")?, "Box")?;
    let Type::TraitObject(object) = strip_groups(object) else { return None };
    object.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(trait_bound) = bound else { return None };
        let last = trait_bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// The variables a parameter pattern binds, in order.
fn collect_bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            if p.ident != "self" {
                out.push(p.ident.clone());
            }
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Tuple(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::Slice(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::Reference(p) => collect_bindings(&p.pat, out),
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Type(p) => collect_bindings(&p.pat, out),
        // Every alternative binds the same names.
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                collect_bindings(first, out)
            }
        }
        _ => {}
    }
}

fn strip_groups(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip_groups(&g.elem),
        Type::Paren(p) => strip_groups(&p.elem),
        other => other,
    }
}

fn return_shape(output: &ReturnType) -> ReturnShape {
    let ty = match output {
        ReturnType::Default => return ReturnShape::Unit,
        ReturnType::Type(_, ty) => strip_groups(ty),
    };
    match ty {
        Type::Tuple(t) if t.elems.is_empty() => ReturnShape::Unit,
        Type::Never(_) => ReturnShape::Never,
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last() {
            // `fmt::Result` is an alias without arguments.
            Some(last) if last.ident == "Result" => ReturnShape::Result,
            Some(last) if last.ident == "Option" && !last.arguments.is_empty() => ReturnShape::Option,
            _ => ReturnShape::Value,
        },
        _ => ReturnShape::Value,
    }
}

fn contains_impl_trait(tokens: TokenStream2) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => contains_impl_trait(g.stream()),
        _ => false,
    })
}

/// A never-taken `return` of the declared type at the top of the body closure / async block,
/// so its return type is known before the body is checked (`?` needs it to pick `From`).
/// Not possible for `impl Trait`, which cannot be named in a `let`.
fn fake_return(output: &ReturnType, shape: &ReturnShape) -> TokenStream2 {
    let ReturnType::Type(_, ty) = output else { return quote!() };
    if matches!(shape, ReturnShape::Unit | ReturnShape::Never) || contains_impl_trait(ty.to_token_stream()) {
        return quote!();
    }
    let var = Ident::new("__clew_fake_return", Span::mixed_site());
    quote_spanned! {ty.span()=>
        #[allow(
            unknown_lints, unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop,
            clippy::let_unit_value, clippy::let_with_type_underscore, clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #var: #ty = loop {};
            return #var;
        }
    }
}

fn value_outputs(krate: &TokenStream2, span_var: &Ident, value: TokenStream2) -> TokenStream2 {
    let buf = Ident::new("__clew_buf", Span::mixed_site());
    quote! {
        #[allow(unused_imports)]
        use #krate::__private::{ViaDebug as _, ViaPlaceholder as _, ViaSerialize as _};
        let mut #buf = #krate::__private::JsonBuf::new();
        (&&&#krate::__private::Wrap(#value)).__clew_json(&mut #buf.0);
        #span_var.set_outputs_json(#buf.into_string());
    }
}

fn outputs_code(krate: &TokenStream2, shape: &ReturnShape, span_var: &Ident, result_var: &Ident) -> TokenStream2 {
    let value = format_ident!("__clew_value", span = Span::mixed_site());
    let error = format_ident!("__clew_error", span = Span::mixed_site());
    match shape {
        ReturnShape::Unit => quote!(#krate::__private::set_outputs_null(#span_var);),
        ReturnShape::Never => quote!(),
        ReturnShape::Value => value_outputs(krate, span_var, quote!(&#result_var)),
        ReturnShape::Option => {
            let some = value_outputs(krate, span_var, quote!(#value));
            quote! {
                match #krate::__private::option_ref(&#result_var) {
                    ::core::option::Option::Some(#value) => { #some }
                    ::core::option::Option::None => #krate::__private::set_outputs_null(#span_var),
                }
            }
        }
        ReturnShape::Result => {
            let ok = value_outputs(krate, span_var, quote!(#value));
            quote! {
                match #krate::__private::result_ref(&#result_var) {
                    ::core::result::Result::Ok(#value) => { #ok }
                    ::core::result::Result::Err(#error) => {
                        #[allow(unused_imports)]
                        use #krate::__private::{
                            ErrViaAsRefError as _, ErrViaAsRefSendError as _, ErrViaDebug as _,
                            ErrViaDisplay as _, ErrViaError as _, ErrViaPlaceholder as _,
                        };
                        (&&&&&&#krate::__private::ErrWrap(#error)).__clew_record_error(#span_var);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(options: &str, item: &str) -> Result<String, String> {
        let options: TokenStream2 = options.parse().unwrap();
        let item: TokenStream2 = item.parse().unwrap();
        syn::parse2::<Options>(options).and_then(|o| expand(o, item)).map(|t| t.to_string()).map_err(|e| e.to_string())
    }

    fn error(options: &str, item: &str) -> String {
        expand_str(options, item).expect_err("expected a compile error")
    }

    #[test]
    fn unknown_and_duplicate_options_are_rejected() {
        let e = error("nme = \"x\"", "fn f() {}");
        assert!(e.starts_with("unknown option `nme`; expected `name = \"...\"`"), "{e}");
        assert_eq!(error("name = \"a\", name = \"b\"", "fn f() {}"), "duplicate option `name`");
        assert!(error("name = some_var", "fn f() {}").starts_with("`name` must be a string literal"));
        assert!(error("attributes = {\"k\": 1}", "fn f() {}").starts_with("write attributes as `attributes("));
        assert!(error("skip(nope)", "fn f(a: u8) {}").starts_with("`nope` is not an argument of `f`"));
        assert!(error("name = \"a\" span_type = \"LLM\"", "fn f() {}").contains("expected `,`"));
    }

    #[test]
    fn only_functions_with_bodies_can_be_traced() {
        assert_eq!(error("", "struct S;"), "#[clew::trace] can only be applied to functions, not a struct");
        assert!(error("", "impl S { fn f(&self) {} }").contains("not an impl block (put it on the methods)"));
        assert!(error("", "fn f(&self);").starts_with("#[clew::trace] needs a function body"));
        assert_eq!(error("", "const fn f() -> u8 { 1 }"), "#[clew::trace] cannot be applied to a `const fn`");
    }

    #[test]
    fn accepted_option_forms() {
        for options in [
            "",
            "name = \"custom\"",
            "span_type = \"RETRIEVER\"",
            "span_type = clew::SpanType::Retriever",
            "attributes(k = 1, \"a.b\" = \"x\", model.name = v.len(),)",
            "skip(a, self), skip_all",
            "crate = my_clew",
            "crate = \"my_clew\"",
            "name = \"n\", span_type = SpanType::Llm, attributes(k = 1), skip(a),",
        ] {
            expand_str(options, "fn f(&self, a: u8, v: Vec<u8>) -> u8 { a }")
                .unwrap_or_else(|e| panic!("{options}: {e}"));
        }
    }

    #[test]
    fn signature_attributes_and_docs_are_kept() {
        let out = expand_str(
            "",
            "/// Docs.\n#[inline] pub(crate) async fn f<T: Clone>(x: T) -> T where T: Send { #![allow(unused)] x }",
        )
        .unwrap();
        let head = out.split('{').next().unwrap();
        assert_eq!(
            head.trim(),
            "# [doc = \" Docs.\"] # [inline] pub (crate) async fn f < T : Clone > (x : T) -> T where T : Send"
        );
        // The inner attribute stays first inside the body.
        assert!(out.contains("where T : Send { # ! [allow (unused)]"), "{out}");
    }

    #[test]
    fn return_shapes_follow_the_spelling_of_the_type() {
        let shape = |ty: &str| {
            let output: ReturnType = syn::parse_str(&format!("-> {ty}")).unwrap();
            match return_shape(&output) {
                ReturnShape::Unit => "unit",
                ReturnShape::Never => "never",
                ReturnShape::Result => "result",
                ReturnShape::Option => "option",
                ReturnShape::Value => "value",
            }
        };
        assert_eq!(shape("()"), "unit");
        assert_eq!(shape("!"), "never");
        assert_eq!(shape("Result<u8, E>"), "result");
        assert_eq!(shape("std::io::Result<u8>"), "result");
        assert_eq!(shape("anyhow::Result<()>"), "result");
        assert_eq!(shape("Option<&str>"), "option");
        assert_eq!(shape("Vec<u8>"), "value");
        assert_eq!(shape("std::fmt::Result"), "result");
        assert_eq!(shape("Option"), "value");
        assert_eq!(shape("impl Iterator<Item = u8>"), "value");
    }
}
