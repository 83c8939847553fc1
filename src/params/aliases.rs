//! The other names a postback's parameters go by (SPEC §4 "Other
//! trackers' names"): ours (`clickid` for `click_id`), those of the
//! trackers networks move from, each row with its tracker and the page of
//! its documentation that says so, and a deployment's own from
//! `PARAM_ALIASES`.
//!
//! Names are matched exactly, once percent-decoded: trackers document
//! them in lower case, and a name that only looks like one stays an
//! unknown parameter (kept in the log, never an error). An alias renames,
//! and nothing else: `payout=12.5` is read exactly as `sum=12.5`.

use std::fmt;

/// Our own names, which always mean what the reference says: the
/// postback's fields, then the parameters a conversion keeps.
pub const OURS: [&str; 22] = [
    "click_id",
    "campaign_id",
    "goal",
    "status",
    "secure",
    "sum",
    "currency",
    "action_id",
    "advertiser_id",
    "custom_field1",
    "custom_field2",
    "custom_field3",
    "custom_field4",
    "custom_field5",
    "custom_field6",
    "custom_field7",
    "custom_field8",
    "comment",
    "note",
    "ip",
    "user_id",
    "sub_id",
];

/// One other name for one of ours, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    /// The name as the tracker documents it.
    pub theirs: &'static str,
    /// The name of ours it is read as: one of [`OURS`].
    pub ours: &'static str,
    /// Who sends it.
    pub trackers: &'static str,
    /// The documentation pages that say what it means, one a tracker.
    pub sources: &'static [&'static str],
}

const fn alias(
    theirs: &'static str,
    ours: &'static str,
    trackers: &'static str,
    sources: &'static [&'static str],
) -> Alias {
    Alias {
        theirs,
        ours,
        trackers,
        sources,
    }
}

const SPEC: &str = "SPEC §4";
const TUNE_POSTBACK: &str =
    "https://support.tune.com/hc/en-us/articles/4413247665431-Receiving-Conversions-via-Postback-URL";
const TUNE_SUB_IDS: &str =
    "https://support.tune.com/hc/en-us/articles/1500008231142-Advertiser-Sub-Ids";
const EVERFLOW_S2S: &str =
    "https://helpdesk.everflow.io/customer/accessing-editing-s2s-postback-urls";
const EVERFLOW_SDK: &str = "https://developers.everflow.io/sdk/conversion-tracking";
const TUNE_AMOUNT: &str =
    "https://support.tune.com/hc/en-us/articles/1500007722601-Recording-Sale-Amount-upon-Conversion";
const EVERFLOW_AMOUNT: &str =
    "https://helpdesk.everflow.io/en/articles/3597723-getting-started-advertiser-postbacks";
const VOLUUM_PAYOUT: &str = "https://doc.voluum.com/article/parameters-in-postback-urls";
const BINOM_PAYOUT: &str = "https://docs.binom.org/payout-tracking-v2.php";
const VOLUUM_POSTBACK: &str = "https://doc.voluum.com/en/tracking_conversions_postback.html";
const KEITARO_POSTBACK: &str = "https://docs.keitaro.io/en/conversions/postback.html";
const KEITARO_SUB_IDS: &str =
    "https://v9.help.keitaro.io/en/conversions-and-postback/postback.html";
const BINOM_POSTBACK: &str = "https://docs.binom.org/postback-url.php";

/// Our own aliases (SPEC §4's table), read on every request. RedTrack's
/// click id and TUNE's offer already go by two of them.
pub const OUR_ALIASES: [Alias; 3] = [
    alias("clickid", "click_id", "ours; RedTrack", &["https://help.redtrack.io/knowledgebase/kb/basic-setup-9785/supported-dynamic-parameters/%d1%81lick-id-parameter/"]),
    alias("offer_id", "campaign_id", "ours; HasOffers/TUNE", &[TUNE_POSTBACK]),
    alias("sale_amount", "sum", "ours", &[SPEC]),
];

/// Other trackers' names, each read in its tracker's documentation. Where
/// one name means different things to different trackers, the row keeps
/// the meaning docs/REFERENCE.md explains ("Other trackers' names").
pub const TRACKERS: [Alias; 41] = [
    // The click id.
    alias("transaction_id", "click_id", "HasOffers/TUNE, Everflow", &[TUNE_POSTBACK, EVERFLOW_S2S]),
    alias("cid", "click_id", "Voluum", &[VOLUUM_POSTBACK]),
    alias("subid", "click_id", "Keitaro", &[KEITARO_POSTBACK]),
    alias("cnv_id", "click_id", "Binom", &[BINOM_POSTBACK]),
    // The revenue a percent payout is taken from.
    alias("amount", "sum", "HasOffers/TUNE, Everflow", &[TUNE_AMOUNT, EVERFLOW_AMOUNT]),
    alias("payout", "sum", "Voluum, Keitaro, Binom", &[VOLUUM_PAYOUT, KEITARO_POSTBACK, BINOM_PAYOUT]),
    alias("revenue", "sum", "Keitaro", &[KEITARO_POSTBACK]),
    // The currency.
    alias("cnv_currency", "currency", "Binom", &[BINOM_POSTBACK]),
    // The goal.
    alias("event_id", "goal", "Everflow", &[EVERFLOW_SDK]),
    alias("adv_event_id", "goal", "Everflow", &[EVERFLOW_SDK]),
    alias("et", "goal", "Voluum", &["https://doc.voluum.com/en/tracking_offers_custom_conversions.html"]),
    alias("type", "goal", "RedTrack", &["https://docs.redtrack.io/knowledgebase/tracking-event-types/"]),
    // The status (its words are beside `Status::parse`).
    alias("cnv_status", "status", "Binom", &[BINOM_POSTBACK]),
    // The advertiser's own conversion id.
    alias("adv_sub", "action_id", "HasOffers/TUNE", &[TUNE_SUB_IDS]),
    alias("conversion_unique_id", "action_id", "HasOffers/TUNE", &["https://support.tune.com/hc/en-us/articles/1500008248141-Limiting-Conversion-by-Unique-ID"]),
    alias("order_id", "action_id", "Everflow", &[EVERFLOW_SDK]),
    alias("txid", "action_id", "Voluum", &[VOLUUM_POSTBACK]),
    alias("tid", "action_id", "Keitaro", &[KEITARO_POSTBACK]),
    alias("rdtk_event_id", "action_id", "RedTrack", &["https://help.redtrack.io/knowledgebase/kb/conversion-tracking/tracking-event-types/"]),
    // Sub parameters, kept with the conversion.
    alias("adv_sub2", "custom_field2", "HasOffers/TUNE", &[TUNE_SUB_IDS]),
    alias("adv_sub3", "custom_field3", "HasOffers/TUNE", &[TUNE_SUB_IDS]),
    alias("adv_sub4", "custom_field4", "HasOffers/TUNE", &[TUNE_SUB_IDS]),
    alias("adv_sub5", "custom_field5", "HasOffers/TUNE", &[TUNE_SUB_IDS]),
    alias("adv1", "custom_field1", "Everflow", &[EVERFLOW_S2S]),
    alias("adv2", "custom_field2", "Everflow", &[EVERFLOW_S2S]),
    alias("adv3", "custom_field3", "Everflow", &[EVERFLOW_S2S]),
    alias("adv4", "custom_field4", "Everflow", &[EVERFLOW_S2S]),
    alias("adv5", "custom_field5", "Everflow", &[EVERFLOW_S2S]),
    alias("param1", "custom_field1", "Voluum", &[VOLUUM_POSTBACK]),
    alias("param2", "custom_field2", "Voluum", &[VOLUUM_POSTBACK]),
    alias("param3", "custom_field3", "Voluum", &[VOLUUM_POSTBACK]),
    alias("param4", "custom_field4", "Voluum", &[VOLUUM_POSTBACK]),
    alias("param5", "custom_field5", "Voluum", &[VOLUUM_POSTBACK]),
    alias("sub_id_1", "custom_field1", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_2", "custom_field2", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_3", "custom_field3", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_4", "custom_field4", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_5", "custom_field5", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_6", "custom_field6", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_7", "custom_field7", "Keitaro", &[KEITARO_SUB_IDS]),
    alias("sub_id_8", "custom_field8", "Keitaro", &[KEITARO_SUB_IDS]),
];

/// The most pairs `PARAM_ALIASES` may list: every name of a postback is
/// looked up among them.
pub const MAX_DEPLOYMENT_ALIASES: usize = 100;

/// The names one kind of request is read by: ours always; for postbacks,
/// other trackers' and the deployment's own too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aliases {
    trackers: bool,
    /// `PARAM_ALIASES`'s pairs: their name, ours.
    deployment: Vec<(Box<str>, &'static str)>,
}

impl Aliases {
    /// Our own aliases only ([`OUR_ALIASES`]): for every request that is
    /// not a postback (`/click`, the log's filters, the admin API), whose
    /// parameters are not another tracker's.
    pub const OURS: Aliases = Aliases {
        trackers: false,
        deployment: Vec::new(),
    };

    /// A postback's names when the deployment adds none: ours and other
    /// trackers' ([`TRACKERS`]).
    pub const POSTBACK: Aliases = Aliases {
        trackers: true,
        deployment: Vec::new(),
    };

    /// A postback's names with the deployment's own, read from
    /// `PARAM_ALIASES`: `their=ours` pairs separated by commas or
    /// whitespace (an empty text adds none). `ours` must be one of
    /// [`OURS`] other than `secure` (the log hides the secure code by its
    /// name); `their` must be neither one of ours nor an alias that means
    /// something else. The first pair that breaks a rule is the error.
    pub fn with_setting(text: &str) -> Result<Aliases, AliasError> {
        let mut deployment: Vec<(Box<str>, &'static str)> = Vec::new();
        let pairs = text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|p| !p.is_empty());
        for pair in pairs {
            let refused = |problem: String| AliasError {
                pair: pair.to_owned(),
                problem,
            };
            let (theirs, ours) = match pair.split_once('=') {
                Some((t, o)) if !t.is_empty() && !o.is_empty() && !o.contains('=') => (t, o),
                _ => {
                    return Err(refused(
                        "is not a `their=ours` pair (for example `clickref=click_id`)".to_owned(),
                    ))
                }
            };
            let ours = match our_name(ours) {
                Some("secure") => {
                    return Err(refused(
                        "names `secure`, which takes no other name: the log hides the secure \
                         code by its name, so it is read only as `secure`"
                            .to_owned(),
                    ))
                }
                Some(name) => name,
                None => {
                    return Err(refused(match built_in(ours) {
                        Some(row) => format!(
                            "names `{ours}`, which is not one of our names but another name of \
                             `{0}`: write `{theirs}={0}`",
                            row.ours
                        ),
                        None => format!(
                            "names `{ours}`, which is not one of our parameters: use one of {}",
                            OURS.iter()
                                .filter(|&&name| name != "secure")
                                .copied()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }))
                }
            };
            if our_name(theirs).is_some() {
                return Err(refused(format!(
                    "renames `{theirs}`, one of our own names, which always mean what they say"
                )));
            }
            if let Some(row) = built_in(theirs) {
                if row.ours == ours {
                    continue; // Already so: nothing to add.
                }
                return Err(refused(format!(
                    "renames `{theirs}`, which already means `{}` ({}): remove the pair",
                    row.ours,
                    if row.trackers.is_empty() {
                        "ours"
                    } else {
                        row.trackers
                    }
                )));
            }
            if theirs.len() > super::MAX_NAME_BYTES {
                return Err(refused(format!(
                    "renames a name longer than {} bytes, which no postback can carry",
                    super::MAX_NAME_BYTES
                )));
            }
            match deployment.iter().find(|(t, _)| **t == *theirs) {
                Some(&(_, earlier)) if earlier != ours => {
                    return Err(refused(format!(
                        "gives `{theirs}` a second meaning: an earlier pair reads it as `{earlier}`"
                    )))
                }
                Some(_) => continue,
                None => {}
            }
            if deployment.len() >= MAX_DEPLOYMENT_ALIASES {
                return Err(refused(format!(
                    "is one pair too many: at most {MAX_DEPLOYMENT_ALIASES} are read"
                )));
            }
            deployment.push((theirs.into(), ours));
        }
        Ok(Aliases {
            trackers: true,
            deployment,
        })
    }

    /// The name of ours `name` is read as when it is an alias; `None` for
    /// one of our names and for any name we do not know (kept as sent).
    /// Costs a look at each row: a few dozen comparisons of short names.
    pub fn canonical(&self, name: &str) -> Option<&'static str> {
        let trackers: &[Alias] = if self.trackers { &TRACKERS } else { &[] };
        OUR_ALIASES
            .iter()
            .chain(trackers)
            .find(|row| row.theirs == name)
            .map(|row| row.ours)
            .or_else(|| {
                self.deployment
                    .iter()
                    .find(|(theirs, _)| **theirs == *name)
                    .map(|&(_, ours)| ours)
            })
    }
}

/// Why `PARAM_ALIASES` cannot be read: the pair, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasError {
    pair: String,
    problem: String,
}

impl fmt::Display for AliasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PARAM_ALIASES: the pair `{}` {}",
            self.pair, self.problem
        )
    }
}

impl std::error::Error for AliasError {}

/// `name` as one of ours, with the `'static` lifetime the table's names
/// have.
fn our_name(name: &str) -> Option<&'static str> {
    OURS.iter().copied().find(|&ours| ours == name)
}

/// The built-in row for `name`, ours or another tracker's.
fn built_in(name: &str) -> Option<&'static Alias> {
    OUR_ALIASES
        .iter()
        .chain(&TRACKERS)
        .find(|row| row.theirs == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(aliases: &Aliases, name: &str, expected: Option<&str>) {
        assert_eq!(aliases.canonical(name), expected, "{name}");
    }

    #[test]
    fn every_row_is_read_as_its_name_of_ours() {
        for row in OUR_ALIASES {
            check(&Aliases::OURS, row.theirs, Some(row.ours));
            check(&Aliases::POSTBACK, row.theirs, Some(row.ours));
        }
        for row in TRACKERS {
            check(&Aliases::POSTBACK, row.theirs, Some(row.ours));
        }
    }

    #[test]
    fn the_table_as_documented() {
        let p = &Aliases::POSTBACK;
        // The click id: TUNE and Everflow, Voluum, Keitaro, Binom, RedTrack.
        check(p, "transaction_id", Some("click_id"));
        check(p, "cid", Some("click_id"));
        check(p, "subid", Some("click_id"));
        check(p, "cnv_id", Some("click_id"));
        check(p, "clickid", Some("click_id"));
        // The revenue.
        check(p, "amount", Some("sum"));
        check(p, "payout", Some("sum"));
        check(p, "revenue", Some("sum"));
        check(p, "sale_amount", Some("sum"));
        check(p, "cnv_currency", Some("currency"));
        // The goal and the status.
        check(p, "event_id", Some("goal"));
        check(p, "adv_event_id", Some("goal"));
        check(p, "et", Some("goal"));
        check(p, "type", Some("goal"));
        check(p, "cnv_status", Some("status"));
        // The advertiser's own id.
        check(p, "adv_sub", Some("action_id"));
        check(p, "conversion_unique_id", Some("action_id"));
        check(p, "order_id", Some("action_id"));
        check(p, "txid", Some("action_id"));
        check(p, "tid", Some("action_id"));
        check(p, "rdtk_event_id", Some("action_id"));
        // Sub parameters.
        check(p, "adv_sub2", Some("custom_field2"));
        check(p, "adv_sub5", Some("custom_field5"));
        check(p, "adv1", Some("custom_field1"));
        check(p, "adv5", Some("custom_field5"));
        check(p, "param1", Some("custom_field1"));
        check(p, "param5", Some("custom_field5"));
        check(p, "sub_id_1", Some("custom_field1"));
        check(p, "sub_id_8", Some("custom_field8"));
        // Ours are no aliases; names we do not read stay as sent.
        check(p, "click_id", None);
        check(p, "sub_id", None);
        check(p, "secure", None);
        check(p, "security_token", None);
        check(p, "aff_click_id", None);
        check(p, "sub_id_9", None);
        check(p, "adv6", None);
        check(p, "nid", None);
        // Exactly as documented: another case is another name.
        check(p, "CID", None);
        check(p, "Payout", None);
    }

    #[test]
    fn other_trackers_names_are_for_postbacks_only() {
        check(&Aliases::OURS, "subid", None);
        check(&Aliases::OURS, "amount", None);
        check(&Aliases::OURS, "type", None);
    }

    #[test]
    fn the_table_holds_together() {
        let rows: Vec<&Alias> = OUR_ALIASES.iter().chain(&TRACKERS).collect();
        for (i, row) in rows.iter().enumerate() {
            assert!(OURS.contains(&row.ours), "{row:?}: not one of ours");
            assert!(!OURS.contains(&row.theirs), "{row:?}: renames one of ours");
            assert_ne!(
                row.ours, "secure",
                "{row:?}: the log hides `secure` by name"
            );
            assert!(
                rows[..i].iter().all(|earlier| earlier.theirs != row.theirs),
                "{row:?}: listed twice"
            );
            assert!(!row.sources.is_empty(), "{row:?}: no source");
            for source in row.sources {
                assert!(source.starts_with("https://") || *source == SPEC, "{row:?}");
            }
        }
    }

    #[test]
    fn the_reference_lists_every_row() {
        let reference = include_str!("../../docs/REFERENCE.md");
        for row in TRACKERS {
            let line = format!("| `{}` | `{}` |", row.theirs, row.ours);
            assert!(reference.contains(&line), "docs/REFERENCE.md lacks {line}");
            for source in row.sources {
                assert!(
                    reference.contains(source),
                    "docs/REFERENCE.md lacks {source}"
                );
            }
        }
    }

    #[track_caller]
    fn check_setting(text: &str, expected: Result<&[(&str, &str)], &str>) {
        match (Aliases::with_setting(text), expected) {
            (Ok(aliases), Ok(pairs)) => {
                let got: Vec<(&str, &str)> = aliases
                    .deployment
                    .iter()
                    .map(|(theirs, ours)| (&**theirs, *ours))
                    .collect();
                assert_eq!(got, pairs, "{text:?}");
                for (theirs, ours) in pairs {
                    check(&aliases, theirs, Some(ours));
                }
                // The built-in names still hold.
                check(&aliases, "subid", Some("click_id"));
            }
            (Err(e), Err(says)) => {
                let message = e.to_string();
                assert!(message.contains(says), "{text:?}: {message}");
                assert!(message.starts_with("PARAM_ALIASES: "), "{message}");
            }
            (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn param_aliases_that_read() {
        check_setting("", Ok(&[]));
        check_setting("  \n ", Ok(&[]));
        check_setting("clickref=click_id", Ok(&[("clickref", "click_id")]));
        check_setting(
            "clickref=click_id,rev=sum order=action_id",
            Ok(&[
                ("clickref", "click_id"),
                ("rev", "sum"),
                ("order", "action_id"),
            ]),
        );
        check_setting(
            " clickref=click_id ,\n\tx_goal=goal,, ",
            Ok(&[("clickref", "click_id"), ("x_goal", "goal")]),
        );
        // A pair given twice, or one the table has, adds nothing new.
        check_setting(
            "clickref=click_id clickref=click_id",
            Ok(&[("clickref", "click_id")]),
        );
        check_setting("cid=click_id,payout=sum", Ok(&[]));
        // Another case is another name, and may be given.
        check_setting("Click_ID=click_id", Ok(&[("Click_ID", "click_id")]));
        check_setting(
            "utm_order=custom_field8",
            Ok(&[("utm_order", "custom_field8")]),
        );
    }

    #[test]
    fn param_aliases_that_do_not_read() {
        check_setting("clickref", Err("`clickref` is not a `their=ours` pair"));
        check_setting("=click_id", Err("is not a `their=ours` pair"));
        check_setting("clickref=", Err("is not a `their=ours` pair"));
        check_setting("a=b=c", Err("is not a `their=ours` pair"));
        check_setting(
            "clickref=clickid",
            Err("another name of `click_id`: write `clickref=click_id`"),
        );
        check_setting(
            "clickref=click",
            Err("names `click`, which is not one of our parameters: use one of click_id, campaign_id"),
        );
        check_setting(
            "clickref=CLICK_ID",
            Err("names `CLICK_ID`, which is not one of our parameters"),
        );
        check_setting("token=secure", Err("takes no other name"));
        check_setting("sum=goal", Err("renames `sum`, one of our own names"));
        check_setting(
            "payout=custom_field1",
            Err("already means `sum` (Voluum, Keitaro, Binom)"),
        );
        check_setting(
            "clickid=sum",
            Err("already means `click_id` (ours; RedTrack)"),
        );
        check_setting(
            "ref=click_id ref=action_id",
            Err("`ref=action_id` gives `ref` a second meaning: an earlier pair reads it as `click_id`"),
        );
        let long = format!("{}=goal", "n".repeat(65));
        check_setting(&long, Err("longer than 64 bytes"));
        let many: Vec<String> = (0..=MAX_DEPLOYMENT_ALIASES)
            .map(|i| format!("n{i}=note"))
            .collect();
        check_setting(&many.join(","), Err("`n100=note` is one pair too many"));
        // The first bad pair is named, whatever follows.
        check_setting("good=note bad=nothing", Err("`bad=nothing`"));
    }
}
