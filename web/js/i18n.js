// The page's words in English, Danish, Norwegian (bokmål) and Swedish, and
// the number and date formats of each.  One row per text, the four
// languages side by side, so a missing translation shows in review.

export const LANGS = ['en', 'da', 'nb', 'sv'];

// The name of each language in itself, for the switch.
export const LANG_NAMES = {
  en: 'English',
  da: 'Dansk',
  nb: 'Norsk (bokmål)',
  sv: 'Svenska',
};

const LOCALES = { en: 'en-GB', da: 'da-DK', nb: 'nb-NO', sv: 'sv-SE' };

/* eslint-disable max-len */
const S = {
  //                 en, da, nb, sv
  'app.title': ['Pain pathways', 'Smerteforløb', 'Smerteforløp', 'Smärtförlopp'],
  'app.subtitle': ["Coordinator's overview", 'Koordinatorens overblik', 'Koordinatorens oversikt', 'Samordnarens översikt'],
  'skip': ['Skip to content', 'Gå til indholdet', 'Hopp til innholdet', 'Hoppa till innehållet'],
  'lang.label': ['Language', 'Sprog', 'Språk', 'Språk'],
  'signout': ['Sign out', 'Log ud', 'Logg ut', 'Logga ut'],
  'who.all': ['all regions', 'alle regioner', 'alle regioner', 'alla regioner'],
  'who.label': ['Signed in as {id}, covering {regions}', 'Logget ind som {id}, dækker {regions}', 'Logget inn som {id}, dekker {regions}', 'Inloggad som {id}, omfattar {regions}'],
  'nav.label': ['Sections', 'Afsnit', 'Deler', 'Avsnitt'],

  'login.title': ['Sign in', 'Log ind', 'Logg inn', 'Logga in'],
  'login.intro': ['Enter your coordinator token.', 'Indtast dit koordinatortoken.', 'Skriv inn koordinatortokenet ditt.', 'Ange ditt samordnartoken.'],
  'login.token': ['Token', 'Token', 'Token', 'Token'],
  'login.hint': ['Kept only in this browser tab, until you close it or sign out.', 'Gemmes kun i denne fane, til du lukker den eller logger ud.', 'Lagres bare i denne fanen, til du lukker den eller logger ut.', 'Sparas bara i den här fliken, tills du stänger den eller loggar ut.'],
  'login.submit': ['Sign in', 'Log ind', 'Logg inn', 'Logga in'],
  'login.rejected': ['The token was not accepted. Enter it again.', 'Tokenet blev ikke godkendt. Indtast det igen.', 'Tokenet ble ikke godtatt. Skriv det inn på nytt.', 'Tokenet godtogs inte. Ange det igen.'],
  'login.empty': ['Enter a token.', 'Indtast et token.', 'Skriv inn et token.', 'Ange ett token.'],
  'login.checking': ['Checking the token…', 'Kontrollerer tokenet…', 'Sjekker tokenet…', 'Kontrollerar tokenet…'],

  'filters.title': ['Filters', 'Filtre', 'Filtre', 'Filter'],
  'filter.region': ['Region', 'Region', 'Region', 'Region'],
  'filter.level': ['Level', 'Niveau', 'Nivå', 'Nivå'],
  'filter.unit': ['Unit', 'Enhed', 'Enhet', 'Enhet'],
  'filter.model': ['Country model', 'Landemodel', 'Landmodell', 'Landsmodell'],
  'filter.asOf': ['Figures as of', 'Tal pr.', 'Tall per', 'Siffror per'],
  'filter.all': ['All', 'Alle', 'Alle', 'Alla'],
  'filter.allRegions': ['All my regions', 'Alle mine regioner', 'Alle mine regioner', 'Alla mina regioner'],
  'filter.reset': ['Clear filters', 'Nulstil filtre', 'Nullstill filtre', 'Återställ filter'],
  'filter.refresh': ['Refresh', 'Opdater', 'Oppdater', 'Uppdatera'],
  'asof.today': ['Figures as of {date}', 'Tal pr. {date}', 'Tall per {date}', 'Siffror per {date}'],
  'asof.snapshot': ['Figures as of {date}, counted at {time}', 'Tal pr. {date}, opgjort kl. {time}', 'Tall per {date}, telt kl. {time}', 'Siffror per {date}, räknade kl. {time}'],

  'level.gp': ['GP', 'Almen praksis', 'Fastlege', 'Primärvård'],
  'level.team': ['Primary-care team', 'Kommunale tilbud', 'Kommunale tjenester', 'Primärvårdsteam'],
  'level.clinic': ['Pain clinic', 'Smerteklinik', 'Smerteklinikk', 'Smärtmottagning'],
  'level.centre': ['Pain centre', 'Smertecenter', 'Smertesenter', 'Smärtcentrum'],

  'model.no': ['Norway', 'Norge', 'Norge', 'Norge'],
  'model.dk': ['Denmark', 'Danmark', 'Danmark', 'Danmark'],
  'model.se-adult': ['Sweden, adults', 'Sverige, voksne', 'Sverige, voksne', 'Sverige, vuxna'],
  'model.se-child': ['Sweden, children', 'Sverige, børn', 'Sverige, barn', 'Sverige, barn'],

  'rule.transit': ['Referral in transit', 'Henvisning undervejs', 'Henvisning underveis', 'Remiss under överföring'],
  'rule.assessment': ['Assessment', 'Vurdering', 'Vurdering', 'Bedömning'],
  'rule.treatment': ['Treatment', 'Behandling', 'Behandling', 'Behandling'],
  'rule.free_choice': ['Free choice', 'Frit valg', 'Fritt valg', 'Fritt val'],
  'rule.level_review': ['Level review', 'Revurdering af niveau', 'Ny vurdering av nivå', 'Omprövning av vårdnivå'],

  'tile.transit': ['Referral received within {limit}', 'Henvisning modtaget inden for {limit}', 'Henvisning mottatt innen {limit}', 'Remiss mottagen inom {limit}'],
  'tile.assessment': ['Assessed within {limit}', 'Vurderet inden for {limit}', 'Vurdert innen {limit}', 'Bedömd inom {limit}'],
  'tile.NO.assessment': ['Referral assessed within {limit}', 'Henvisning vurderet inden for {limit}', 'Henvisning vurdert innen {limit}', 'Remiss bedömd inom {limit}'],
  'tile.DK.assessment': ['Right to assessment: within {limit}', 'Udredningsret: inden for {limit}', 'Rett til utredning: innen {limit}', 'Rätt till utredning: inom {limit}'],
  'tile.treatment': ['Treatment started within {limit}', 'Behandling startet inden for {limit}', 'Behandling startet innen {limit}', 'Behandling påbörjad inom {limit}'],
  'tile.NO.treatment': ["Care started by the clinic's deadline", 'Behandling startet inden klinikkens frist', 'Helsehjelp startet innen fristen klinikken satte', 'Vård påbörjad inom klinikens frist'],
  'tile.SE.treatment': ['Care guarantee: treated within {limit}', 'Behandlingsgaranti: behandlet inden for {limit}', 'Behandlingsgaranti: behandlet innen {limit}', 'Vårdgarantin: behandling inom {limit}'],
  'tile.free_choice': ['Extended free choice offered within {limit}', 'Udvidet frit sygehusvalg tilbudt inden for {limit}', 'Utvidet fritt sykehusvalg tilbudt innen {limit}', 'Utvidgat fritt sjukhusval erbjudet inom {limit}'],
  'tile.level_review': ['Level reviewed within {limit}', 'Niveau revurderet inden for {limit}', 'Nivå vurdert på nytt innen {limit}', 'Vårdnivå omprövad inom {limit}'],
  'tile.withinLabel': ['within the limit', 'inden for fristen', 'innenfor fristen', 'inom tidsgränsen'],
  'tile.overdue': ['{n} overdue', '{n} over fristen', '{n} fristbrudd', '{n} över tidsgränsen'],
  'tile.running': ['of {n} running', 'af {n} løbende', 'av {n} løpende', 'av {n} pågående'],
  'tile.paused': ['{n} paused', '{n} på pause', '{n} på pause', '{n} pausade'],
  'tile.noneRunning': ['none running', 'ingen løbende', 'ingen løpende', 'inga pågående'],
  'tile.showOverdue': ['Show overdue', 'Vis dem over fristen', 'Vis fristbruddene', 'Visa de försenade'],

  'unit.working_days': ['{n} working days', '{n} arbejdsdage', '{n} virkedager', '{n} arbetsdagar'],
  'unit.days': ['{n} days', '{n} dage', '{n} dager', '{n} dagar'],
  'unit.months': ['{n} months', '{n} måneder', '{n} måneder', '{n} månader'],
  'unit.d': ['{n} d', '{n} d', '{n} d', '{n} d'],

  'tiles.title': ['Within the legal limit', 'Inden for lovens frist', 'Innenfor lovens frist', 'Inom lagstadgad tid'],
  'tiles.intro': ['Share of running clocks not overdue, per rule.', 'Andel af løbende frister, der ikke er overskredet, pr. regel.', 'Andel løpende frister som ikke er brutt, per regel.', 'Andel pågående frister som inte överskridits, per regel.'],
  'tiles.empty': ['No clocks run for this selection.', 'Ingen frister løber for dette udvalg.', 'Ingen frister løper for dette utvalget.', 'Inga frister löper för det här urvalet.'],

  'hist.title': ['Who waits, and for how long', 'Hvem venter, og hvor længe', 'Hvem venter, og hvor lenge', 'Vem väntar, och hur länge'],
  'hist.rule': ['Deadline rule', 'Fristregel', 'Fristregel', 'Fristregel'],
  'hist.allWaits': ['Everyone waiting', 'Alle ventende', 'Alle som venter', 'Alla som väntar'],
  'hist.waiting': ['Waiting', 'Venter', 'Venter', 'Väntar'],
  'hist.median': ['Median wait', 'Median ventetid', 'Median ventetid', 'Median väntetid'],
  'hist.p90': ['90th percentile', '90. percentil', '90-persentil', '90:e percentilen'],
  'hist.limit': ['Limit', 'Frist', 'Frist', 'Tidsgräns'],
  'hist.noLimit': ['choose a rule', 'vælg en regel', 'velg en regel', 'välj en regel'],
  'hist.axisX': ['Weeks waited', 'Uger ventet', 'Uker ventet', 'Veckor väntat'],
  'hist.axisY': ['Patients', 'Patienter', 'Pasienter', 'Patienter'],
  'hist.beyond': ['past the limit', 'over fristen', 'over fristen', 'över tidsgränsen'],
  'hist.band': ['{from}–{to} days', '{from}–{to} dage', '{from}–{to} dager', '{from}–{to} dagar'],
  'hist.note': ['Days since the referral was received, paused days not counted. The red line is the limit.', 'Dage siden henvisningen blev modtaget, uden dage på pause. Den røde linje er fristen.', 'Dager siden henvisningen ble mottatt, uten dager på pause. Den røde linjen er fristen.', 'Dagar sedan remissen togs emot, utan pausade dagar. Den röda linjen är tidsgränsen.'],
  'hist.band.col': ['Waited', 'Ventet', 'Ventet', 'Väntat'],
  'hist.count.col': ['Patients', 'Patienter', 'Pasienter', 'Patienter'],

  'trend.title': ['Trend: the last 12 months', 'Udvikling: de seneste 12 måneder', 'Utvikling: de siste 12 månedene', 'Utveckling: de senaste 12 månaderna'],
  'trend.month': ['Month', 'Måned', 'Måned', 'Månad'],
  'trend.waitingAtEnd': ["Waiting at month's end", 'Ventende ved månedens udgang', 'Ventende ved månedsslutt', 'Väntande vid månadens slut'],
  'trend.started': ['Treatments started', 'Behandlinger startet', 'Behandlinger startet', 'Påbörjade behandlingar'],
  'trend.median': ['Median wait, days', 'Median ventetid, dage', 'Median ventetid, dager', 'Median väntetid, dagar'],
  'trend.p90': ['90th percentile, days', '90. percentil, dage', '90-persentil, dager', '90:e percentil, dagar'],
  'trend.share': ['Within the limit', 'Inden for fristen', 'Innenfor fristen', 'Inom tidsgränsen'],
  'trend.chartWaits': ['Waiting, and waits of treatments started', 'Ventende, og ventetid for påbegyndte behandlinger', 'Ventende, og ventetid for startede behandlinger', 'Väntande, och väntetid för påbörjade behandlingar'],
  'trend.chartShare': ['Share of treatments started within the limit', 'Andel behandlinger startet inden for fristen', 'Andel behandlinger startet innenfor fristen', 'Andel behandlingar påbörjade inom tidsgränsen'],
  'axis.patients': ['Patients', 'Patienter', 'Pasienter', 'Patienter'],
  'axis.days': ['Days', 'Dage', 'Dager', 'Dagar'],

  'units.title': ['By unit', 'Pr. enhed', 'Per enhet', 'Per enhet'],
  'units.hint': ["Choose a row (Enter) to open that unit's worklist.", 'Vælg en række (Enter) for at åbne enhedens arbejdsliste.', 'Velg en rad (Enter) for å åpne enhetens arbeidsliste.', 'Välj en rad (Enter) för att öppna enhetens arbetslista.'],
  'units.unit': ['Unit', 'Enhed', 'Enhet', 'Enhet'],
  'units.region': ['Region', 'Region', 'Region', 'Region'],
  'units.level': ['Level', 'Niveau', 'Nivå', 'Nivå'],
  'units.waiting': ['Waiting', 'Venter', 'Venter', 'Väntar'],
  'units.median': ['Median wait', 'Median ventetid', 'Median ventetid', 'Median väntetid'],
  'units.p90': ['90th pct.', '90. pct.', '90-pst.', '90:e pct.'],
  'units.share': ['Within limit', 'Inden for frist', 'Innenfor frist', 'Inom gräns'],
  'units.overdue': ['Overdue', 'Over frist', 'Fristbrudd', 'Försenade'],
  'units.started': ['Treated, 90 days', 'Behandlet, 90 dage', 'Behandlet, 90 dager', 'Behandlade, 90 dagar'],
  'units.startedMedian': ['Their median wait', 'Deres median ventetid', 'Deres median ventetid', 'Deras median väntetid'],
  'units.empty': ['Nobody waits at a unit for this selection.', 'Ingen venter på en enhed i dette udvalg.', 'Ingen venter ved en enhet i dette utvalget.', 'Ingen väntar vid en enhet i det här urvalet.'],
  'units.open': ["Open {unit}'s worklist", 'Åbn arbejdslisten for {unit}', 'Åpne arbeidslisten for {unit}', 'Öppna arbetslistan för {unit}'],

  'deadlines.title': ['The next 7 and 14 days', 'De næste 7 og 14 dage', 'De neste 7 og 14 dagene', 'De kommande 7 och 14 dagarna'],
  'deadlines.window': ['Deadlines within', 'Frister inden for', 'Frister innen', 'Frister inom'],
  'deadlines.rule': ['Rule', 'Regel', 'Regel', 'Regel'],
  'deadlines.due': ['Due', 'Frist', 'Frist', 'Förfaller'],
  'deadlines.left': ['Days left', 'Dage tilbage', 'Dager igjen', 'Dagar kvar'],
  'deadlines.patient': ['Patient', 'Patient', 'Pasient', 'Patient'],
  'deadlines.where': ['Region and level', 'Region og niveau', 'Region og nivå', 'Region och nivå'],
  'deadlines.unit': ['Responsible unit', 'Ansvarlig enhed', 'Ansvarlig enhet', 'Ansvarig enhet'],
  'deadlines.status': ['Acknowledgement', 'Kvittering', 'Kvittering', 'Kvittering'],
  'deadlines.empty': ['No deadline falls within {n} days.', 'Ingen frist falder inden for {n} dage.', 'Ingen frist faller innen {n} dager.', 'Ingen frist infaller inom {n} dagar.'],
  'deadlines.count': ['{n} deadlines', '{n} frister', '{n} frister', '{n} frister'],
  'deadlines.today': ['today', 'i dag', 'i dag', 'i dag'],
  'deadlines.inDays': ['in {n} d', 'om {n} d', 'om {n} d', 'om {n} d'],
  'deadlines.late': ['{n} d late', '{n} d for sent', '{n} d over', '{n} d sen'],
  'deadlines.notReported': ['not in a night\'s report yet', 'endnu ikke i en natlig rapport', 'ennå ikke i en nattlig rapport', 'ännu inte i en nattlig rapport'],
  'ack.button': ['Acknowledge', 'Kvittér', 'Kvitter', 'Kvittera'],
  'ack.buttonFor': ['Acknowledge the deadline for {patient}', 'Kvittér fristen for {patient}', 'Kvitter fristen for {patient}', 'Kvittera fristen för {patient}'],
  'ack.title': ['Acknowledge the deadline for {patient}', 'Kvittér fristen for {patient}', 'Kvitter fristen for {patient}', 'Kvittera fristen för {patient}'],
  'ack.explain': ['Your acknowledgement is recorded under your token; the first one stands.', 'Din kvittering registreres under dit token; den første gælder.', 'Kvitteringen registreres på tokenet ditt; den første gjelder.', 'Kvitteringen registreras på ditt token; den första gäller.'],
  'ack.note': ['Note (optional)', 'Note (valgfri)', 'Notat (valgfritt)', 'Anteckning (valfri)'],
  'ack.confirm': ['Acknowledge', 'Kvittér', 'Kvitter', 'Kvittera'],
  'ack.cancel': ['Cancel', 'Annuller', 'Avbryt', 'Avbryt'],
  'ack.done': ['Acknowledged by {by}, {at}', 'Kvitteret af {by}, {at}', 'Kvittert av {by}, {at}', 'Kvitterad av {by}, {at}'],
  'ack.saved': ['Acknowledged.', 'Kvitteret.', 'Kvittert.', 'Kvitterad.'],
  'ack.saving': ['Saving…', 'Gemmer…', 'Lagrer…', 'Sparar…'],

  'flow.title': ['Flow: referrals per week', 'Flow: henvisninger pr. uge', 'Flyt: henvisninger per uke', 'Flöde: remisser per vecka'],
  'flow.week': ['Week', 'Uge', 'Uke', 'Vecka'],
  'flow.received': ['Received', 'Modtaget', 'Mottatt', 'Mottagna'],
  'flow.accepted': ['Accepted', 'Accepteret', 'Godtatt', 'Accepterade'],
  'flow.rejected': ['Rejected', 'Afvist', 'Avvist', 'Avvisade'],
  'flow.started': ['Treatments started', 'Behandlinger startet', 'Behandlinger startet', 'Påbörjade behandlingar'],

  'worklist.title': ['Worklist', 'Arbejdsliste', 'Arbeidsliste', 'Arbetslista'],
  'worklist.phase': ['Phase', 'Fase', 'Fase', 'Fas'],
  'worklist.unit': ['Now at unit', 'Nu på enhed', 'Nå ved enhet', 'Nu vid enhet'],
  'worklist.waitingUnit': ['Waiting for unit', 'Venter på enhed', 'Venter på enhet', 'Väntar på enhet'],
  'worklist.flag': ['Group', 'Gruppe', 'Gruppe', 'Grupp'],
  'worklist.dueBefore': ['Deadline before', 'Frist før', 'Frist før', 'Frist före'],
  'worklist.overdue': ['Overdue only', 'Kun over fristen', 'Bare fristbrudd', 'Endast försenade'],
  'worklist.incomplete': ['Incomplete referrals only', 'Kun ufuldstændige henvisninger', 'Bare ufullstendige henvisninger', 'Endast ofullständiga remisser'],
  'worklist.apply': ['Show', 'Vis', 'Vis', 'Visa'],
  'worklist.clear': ['Clear', 'Ryd', 'Tøm', 'Rensa'],
  'worklist.patient': ['Patient', 'Patient', 'Pasient', 'Patient'],
  'worklist.model': ['Country', 'Land', 'Land', 'Land'],
  'worklist.where': ['Where now', 'Hvor nu', 'Hvor nå', 'Var nu'],
  'worklist.referral': ['Referred to', 'Henvist til', 'Henvist til', 'Remitterad till'],
  'worklist.next': ['Next deadline', 'Næste frist', 'Neste frist', 'Nästa frist'],
  'worklist.flags': ['Groups', 'Grupper', 'Grupper', 'Grupper'],
  'worklist.opened': ['Opened', 'Åbnet', 'Åpnet', 'Öppnad'],
  'worklist.first': ['First page', 'Første side', 'Første side', 'Första sidan'],
  'worklist.prev': ['Previous page', 'Forrige side', 'Forrige side', 'Föregående sida'],
  'worklist.nextPage': ['Next page', 'Næste side', 'Neste side', 'Nästa sida'],
  'worklist.page': ['Page {n}', 'Side {n}', 'Side {n}', 'Sida {n}'],
  'worklist.rows': ['{n} on this page', '{n} på denne side', '{n} på denne siden', '{n} på den här sidan'],
  'worklist.empty': ['No open pathway matches.', 'Intet åbent forløb passer.', 'Ingen åpne forløp passer.', 'Inget öppet förlopp matchar.'],
  'worklist.overdueMark': ['overdue', 'overskredet', 'fristbrudd', 'försenad'],
  'worklist.received': ['received {date}', 'modtaget {date}', 'mottatt {date}', 'mottagen {date}'],
  'worklist.sent': ['sent {date}', 'sendt {date}', 'sendt {date}', 'skickad {date}'],

  'phase.active': ['Active', 'Aktiv', 'Aktiv', 'Aktiv'],
  'phase.referred': ['Referred, not received', 'Henvist, ikke modtaget', 'Henvist, ikke mottatt', 'Remitterad, ej mottagen'],
  'phase.assessing': ['Being assessed', 'Under vurdering', 'Under vurdering', 'Under bedömning'],
  'phase.waiting': ['Waiting for treatment', 'Venter på behandling', 'Venter på behandling', 'Väntar på behandling'],

  'flag.young_adult_at_risk': ['Young adult at risk', 'Ung voksen i risiko', 'Ung voksen i risiko', 'Ung vuxen i riskzonen'],
  'flag.trauma': ['Trauma', 'Traumer', 'Traumer', 'Trauma'],
  'flag.elderly': ['Elderly', 'Ældre', 'Eldre', 'Äldre'],
  'flag.mental_illness': ['Mental illness', 'Psykisk sygdom', 'Psykisk lidelse', 'Psykisk sjukdom'],
  'flag.dependence': ['Dependence', 'Afhængighed', 'Avhengighet', 'Beroende'],
  'flag.interpreter_needed': ['Needs an interpreter', 'Behov for tolk', 'Trenger tolk', 'Behöver tolk'],
  'flag.severe_headache': ['Severe headache', 'Svær hovedpine', 'Alvorlig hodepine', 'Svår huvudvärk'],
  'flag.orofacial_pain': ['Orofacial pain', 'Orofaciale smerter', 'Orofaciale smerter', 'Orofacial smärta'],
  'flag.cancer_survivor': ['Cancer survivor', 'Tidligere kræftpatient', 'Tidligere kreftpasient', 'Tidigare cancerpatient'],

  'table.show': ['Show the figures as a table', 'Vis tallene som tabel', 'Vis tallene som tabell', 'Visa siffrorna som tabell'],
  'loading': ['Loading…', 'Henter…', 'Henter…', 'Hämtar…'],
  'none': ['—', '—', '—', '—'],
  'error.network': ['The server could not be reached. Try Refresh.', 'Serveren kunne ikke nås. Prøv Opdater.', 'Fikk ikke kontakt med serveren. Prøv Oppdater.', 'Servern kunde inte nås. Försök med Uppdatera.'],
  'error.status': ['The server answered {status}:', 'Serveren svarede {status}:', 'Serveren svarte {status}:', 'Servern svarade {status}:'],
  'error.field': ['field', 'felt', 'felt', 'fält'],
  'error.forbidden': ['Your token does not cover this.', 'Dit token dækker ikke dette.', 'Tokenet ditt dekker ikke dette.', 'Ditt token omfattar inte detta.'],

  'suppressed': ['fewer than 5 patients', 'færre end 5 patienter', 'færre enn 5 pasienter', 'färre än 5 patienter'],

  'public.title': ['Waiting times for pain treatment', 'Ventetider til smertebehandling', 'Ventetider for smertebehandling', 'Väntetider för smärtbehandling'],
  'public.intro': ['How long patients waited for treatment to start, for treatments started in the last {days} days, and how many are waiting now, at each unit. Half of the patients waited no longer than the median; nine in ten no longer than the 90th percentile.', 'Hvor længe patienterne ventede, før behandlingen startede, for behandlinger startet de seneste {days} dage, og hvor mange der venter nu, på hver enhed. Halvdelen ventede højst medianen; ni ud af ti højst 90. percentil.', 'Hvor lenge pasientene ventet før behandlingen startet, for behandlinger startet de siste {days} dagene, og hvor mange som venter nå, ved hver enhet. Halvparten ventet ikke lenger enn medianen; ni av ti ikke lenger enn 90-persentilen.', 'Hur länge patienterna väntade innan behandlingen började, för behandlingar som påbörjades de senaste {days} dagarna, och hur många som väntar nu, vid varje enhet. Hälften väntade högst medianen; nio av tio högst den 90:e percentilen.'],
  'public.privacy': ['A figure drawn from fewer than 5 patients is not shown, so that nobody can be recognised.', 'Tal, der bygger på færre end 5 patienter, vises ikke, så ingen kan genkendes.', 'Tall som bygger på færre enn 5 pasienter vises ikke, slik at ingen kan kjennes igjen.', 'Siffror som bygger på färre än 5 patienter visas inte, så att ingen kan kännas igen.'],
  'public.updated': ['Updated {time}', 'Opdateret {time}', 'Oppdatert {time}', 'Uppdaterad {time}'],
  'public.region': ['Region', 'Region', 'Region', 'Region'],
  'public.allRegions': ['All regions', 'Alle regioner', 'Alle regioner', 'Alla regioner'],
  'public.unit': ['Unit', 'Enhed', 'Enhet', 'Enhet'],
  'public.level': ['Level', 'Niveau', 'Nivå', 'Nivå'],
  'public.median': ['Median wait', 'Median ventetid', 'Median ventetid', 'Median väntetid'],
  'public.p90': ['9 in 10 waited at most', '9 ud af 10 ventede højst', '9 av 10 ventet høyst', '9 av 10 väntade högst'],
  'public.started': ['Treatments started', 'Behandlinger startet', 'Behandlinger startet', 'Påbörjade behandlingar'],
  'public.waiting': ['Waiting now', 'Venter nu', 'Venter nå', 'Väntar nu'],
  'public.empty': ['No figures yet.', 'Ingen tal endnu.', 'Ingen tall ennå.', 'Inga siffror ännu.'],
  'public.error': ['The waiting times could not be loaded. Try again later.', 'Ventetiderne kunne ikke hentes. Prøv igen senere.', 'Ventetidene kunne ikke hentes. Prøv igjen senere.', 'Väntetiderna kunde inte hämtas. Försök igen senare.'],
};
/* eslint-enable max-len */

export const STRINGS = S;

let current = 'en';

export function lang() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

// The browser's first language we speak: Norwegian in any written form
// reads bokmål, anything else English.
export function detectLang(preferred = navigator.languages || [navigator.language]) {
  for (const tag of preferred) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (base === 'da') return 'da';
    if (base === 'nb' || base === 'no' || base === 'nn') return 'nb';
    if (base === 'sv') return 'sv';
    if (base === 'en') return 'en';
  }
  return 'en';
}

export function setLang(code) {
  current = LANGS.includes(code) ? code : 'en';
  document.documentElement.lang = current;
  return current;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(S, key);
}

// The text for key in the current language, with {name} filled from vars.
export function t(key, vars = {}) {
  const row = S[key];
  const text = row ? row[LANGS.indexOf(current)] : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// Every element with data-i18n gets its text; data-i18n-attr="aria-label"
// (and the like) translates an attribute instead.
export function translateTree(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const attr = el.dataset.i18nAttr;
    if (attr) el.setAttribute(attr, t(el.dataset.i18n));
    else el.textContent = t(el.dataset.i18n);
  }
}

export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return t('none');
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
}

export function pct(share) {
  if (share === null || share === undefined) return t('none');
  return new Intl.NumberFormat(locale(), {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  }).format(share);
}

export function days(n) {
  if (n === null || n === undefined) return t('none');
  return t('unit.d', { n: num(n, 1) });
}

// A calendar date (YYYY-MM-DD) as the reader writes it; UTC, so that no
// time zone moves it to the day before.
export function date(iso, withWeekday = false) {
  if (!iso) return t('none');
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return iso;
  const opts = { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' };
  if (withWeekday) opts.weekday = 'short';
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

export function dateTime(iso) {
  if (!iso) return t('none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// "2026-01" as "Jan 2026" in the reader's language.
export function month(ym, short = false) {
  const d = new Date(`${ym}-01T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return ym;
  return new Intl.DateTimeFormat(locale(), {
    timeZone: 'UTC',
    month: 'short',
    year: short ? '2-digit' : 'numeric',
  }).format(d);
}

// Identifiers such as "helse-vest" or "bergen-smerteklinikk" read as
// names; the identifier itself stays in a title and in data attributes.
export function prettyId(id) {
  if (!id) return t('none');
  return String(id)
    .split(/[-_.]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

export function levelName(level) {
  return has(`level.${level}`) ? t(`level.${level}`) : level;
}

export function modelName(key, models = []) {
  if (has(`model.${key}`)) return t(`model.${key}`);
  const m = models.find((x) => x.key === key);
  return m ? m.name : key;
}

export function ruleName(rule) {
  return has(`rule.${rule}`) ? t(`rule.${rule}`) : rule;
}

export function flagName(flag) {
  return has(`flag.${flag}`) ? t(`flag.${flag}`) : flag;
}

export function limitText(limit) {
  if (!limit || limit.n === undefined) return null;
  const key = `unit.${limit.unit}`;
  return has(key) ? t(key, { n: num(limit.n) }) : `${limit.n} ${limit.unit}`;
}

// A tile's heading: the country's wording where it has its own (Norway's
// assessment, Denmark's right to assessment, Sweden's care guarantee).
export function ruleTitle(country, rule, limit) {
  const text = limitText(limit);
  const own = `tile.${country}.${rule}`;
  if (has(own) && (text || !t(own).includes('{limit}'))) return t(own, { limit: text });
  if (has(`tile.${rule}`) && text) return t(`tile.${rule}`, { limit: text });
  return ruleName(rule);
}
